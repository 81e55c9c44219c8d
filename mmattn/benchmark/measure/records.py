"""What a benchmark measures and returns: the modes, an entry to measure
(:class:`Entry`) and one measurement (:class:`Result`)."""
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, NamedTuple, Optional

from torch import nn

FORWARD = 'forward'
FORWARD_BACKWARD = 'forward+backward'

MODES = (FORWARD, FORWARD_BACKWARD)

MB = float(2**20)  # "MB" in the tables means MiB: 2**20 bytes.


class Entry(NamedTuple):
    """One implementation to measure.

    Args:
        name: label of the row in the table.
        make_module: ``() -> nn.Module``; called once, on the CPU (the harness
            moves the module to the device).
        make_inputs: ``() -> inputs``; the positional arguments of the module:
            a ``tuple`` is unpacked into ``module(*inputs)``, anything else (a
            tensor, a list of feature maps for a decode head) is passed as the
            single argument ``module(inputs)``. Tensors are moved to the
            device by the harness.
        input_requires_grad: whether floating-point inputs require grad in
            ``forward+backward`` mode, so that the backward also computes the
            gradient of the input (true for a block or head inside a network;
            false for images fed to a whole model).
    """
    name: str
    make_module: Callable[[], nn.Module]
    make_inputs: Callable[[], Any]
    input_requires_grad: bool = True


@dataclass
class Result:
    """The measurement of one entry in one mode.

    ``median_ms``, ``peak_mem_mb``, ``params_m`` and ``gflops`` are what the
    table shows; ``flops``, ``peak_mem_bytes`` and ``params`` are the exact
    integers behind them. A quantity that was not measured is ``None``.
    """
    name: str
    mode: str
    median_ms: Optional[float]
    peak_mem_mb: Optional[float]
    params_m: float
    gflops: Optional[float]
    input_shape: str
    device: str = 'cpu'
    runs: int = 0
    warmup: int = 0
    times_ms: List[float] = field(default_factory=list)
    flops: Optional[int] = None
    flops_by_op: Dict[str, int] = field(default_factory=dict)
    peak_mem_bytes: Optional[int] = None
    params: int = 0

    def to_dict(self) -> dict:
        return asdict(self)
