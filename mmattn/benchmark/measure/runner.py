"""Running entries: their inputs, the forward(+backward) step, and
:func:`run_benchmark` that measures every entry in every mode."""
import statistics
from typing import Any, Callable, Iterable, List, Optional, Sequence, Union

import torch
from torch import nn

from .flops import _count, count_params
from .memory import peak_memory
from .records import FORWARD, FORWARD_BACKWARD, MB, MODES, Entry, Result
from .timing import _time_interleaved, time_runs


# --------------------------------------------------------------------------
# one step of a module
# --------------------------------------------------------------------------
def _map_tensors(obj, fn):
    if isinstance(obj, torch.Tensor):
        return fn(obj)
    if isinstance(obj, tuple) and hasattr(obj, '_fields'):  # namedtuple
        return type(obj)(*(_map_tensors(o, fn) for o in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_map_tensors(o, fn) for o in obj)
    if isinstance(obj, dict):
        return {k: _map_tensors(v, fn) for k, v in obj.items()}
    return obj


def _tensors(obj) -> List[torch.Tensor]:
    found = []
    _map_tensors(obj, lambda t: found.append(t) or t)
    return found


def describe_inputs(args: Sequence[Any]) -> str:
    """``'1x2048x64x128'``; several tensors are joined with ``', '``."""
    shapes = ['x'.join(str(s) for s in t.shape) for t in _tensors(list(args))]
    return ', '.join(shapes) if shapes else '-'


def _as_args(inputs) -> tuple:
    return inputs if isinstance(inputs, tuple) else (inputs, )


def _scalar_of(output) -> torch.Tensor:
    """Sum of every output tensor that requires grad (for ``backward``)."""
    parts = [
        t.float().sum() for t in _tensors(output)
        if t.requires_grad and t.is_floating_point()
    ]
    if not parts:
        raise RuntimeError(
            'forward+backward: the output has no tensor that requires grad')
    return torch.stack(parts).sum()


def make_step(module: nn.Module, args: tuple,
              mode: str = FORWARD) -> Callable[[], Any]:
    """A no-argument callable running one ``forward``/``forward+backward``.

    ``forward`` runs under ``torch.no_grad()`` (inference: no autograd graph is
    kept, so its memory is the inference memory); ``forward+backward`` runs the
    forward with autograd and back-propagates the sum of all outputs, which
    allocates the parameter (and input) gradients. Call it with the module in
    the training state you want (the harness uses ``eval()`` for ``forward``
    and ``train()`` for ``forward+backward``).
    """
    if mode == FORWARD:

        def step():
            with torch.no_grad():
                return module(*args)
    elif mode == FORWARD_BACKWARD:

        def step():
            _scalar_of(module(*args)).backward()
    else:
        raise ValueError(f'unknown mode {mode!r}; expected one of {MODES}')
    return step


def _zero_grad(module: nn.Module, args: tuple) -> None:
    module.zero_grad(set_to_none=True)
    for t in _tensors(list(args)):
        t.grad = None


def run_benchmark(entries: Sequence[Entry],
                  modes: Iterable[str] = MODES,
                  log: Optional[Callable[[str], None]] = None,
                  device: Union[str, torch.device] = 'cpu',
                  warmup: int = 2,
                  runs: int = 5,
                  flops: bool = True,
                  memory: bool = True,
                  timing: bool = True,
                  seed: Optional[int] = 0,
                  interleave: bool = True) -> List[Result]:
    """Measure every entry in every mode in this process.

    Each module and its inputs are built once (after
    ``torch.manual_seed(seed)``, so an entry does not depend on its
    position) and shared by the modes. Per mode, for each entry: FLOPs from
    one call; the time of ``runs`` calls after ``warmup`` calls, the entries
    taking turns run by run when ``interleave``; then the peak memory of one
    more call with the gradients reset to ``None`` first (so that a
    ``forward+backward`` peak includes allocating them, as in a training
    step). ``forward`` runs in ``eval()`` under ``no_grad``,
    ``forward+backward`` in ``train()``. ``log`` (e.g. a print to stderr)
    gets progress lines.

    Returns:
        One :class:`Result` per (mode, entry), mode-major: all entries in
        ``forward``, then all in ``forward+backward``.
    """
    device = torch.device(device)
    modes = list(modes)
    for mode in modes:
        if mode not in MODES:
            raise ValueError(f'unknown mode {mode!r}; expected one of {MODES}')
    say = log or (lambda msg: None)
    built = _build(entries, device, seed, say)
    results = []
    for mode in modes:
        steps, step_args = _steps(built, mode)
        counts = []
        for (entry, module, _), step in zip(built, steps):
            module.train(mode == FORWARD_BACKWARD)
            say(f'{mode}: counting FLOPs of {entry.name} ...')
            counts.append(_count(step) if flops else (None, {}))
        times = _times(built, steps, mode, timing, interleave, warmup, runs,
                       device, say)
        for (entry, module, _), step, args, (n_flops, by_op), t in zip(
                built, steps, step_args, counts, times):
            module.train(mode == FORWARD_BACKWARD)
            peak = None
            if memory:
                say(f'{mode}: peak memory of {entry.name} ...')
                _zero_grad(module, args)
                peak = peak_memory(step, device)
            _zero_grad(module, args)
            params = count_params(module)
            results.append(
                Result(
                    name=entry.name,
                    mode=mode,
                    median_ms=statistics.median(t) * 1e3 if t else None,
                    peak_mem_mb=peak / MB if peak is not None else None,
                    params_m=params / 1e6,
                    gflops=n_flops / 1e9 if n_flops is not None else None,
                    input_shape=describe_inputs(args),
                    device=str(device),
                    runs=len(t),
                    warmup=warmup if timing else 0,
                    times_ms=[x * 1e3 for x in t],
                    flops=n_flops,
                    flops_by_op=by_op,
                    peak_mem_bytes=peak,
                    params=params))
    del built
    if device.type == 'cuda':
        torch.cuda.empty_cache()
    return results


def _build(entries, device, seed, say):
    """``[(entry, module, args)]``: each module and its inputs built once,
    after ``torch.manual_seed(seed)``, on ``device``."""
    built = []
    for entry in entries:
        say(f'building {entry.name} ...')
        if seed is not None:
            torch.manual_seed(seed)
        module = entry.make_module().to(device)
        args = _map_tensors(
            _as_args(entry.make_inputs()), lambda t: t.to(device))
        built.append((entry, module, args))
    return built


def _steps(built, mode):
    """The step of each built entry in ``mode`` and the inputs it takes
    (inputs that need a gradient in ``forward+backward``)."""
    steps, step_args = [], []
    for entry, module, args in built:
        if mode == FORWARD_BACKWARD:
            args = _map_tensors(
                args, lambda t: t.detach().requires_grad_(
                    entry.input_requires_grad and t.is_floating_point()))
        steps.append(make_step(module, args, mode))
        step_args.append(args)
    return steps, step_args


def _times(built, steps, mode, timing, interleave, warmup, runs, device,
           say):
    """Per step, the seconds of ``runs`` calls after ``warmup`` (empty lists
    without ``timing``); the steps take turns run by run when
    ``interleave``."""
    if not timing:
        return [[] for _ in steps]
    for _, module, _ in built:
        module.train(mode == FORWARD_BACKWARD)
    if interleave and len(steps) > 1:
        say(f'{mode}: timing {len(steps)} implementations in turn ...')
        return _time_interleaved(steps, warmup, runs, device)
    times = []
    for (entry, _, _), step in zip(built, steps):
        say(f'{mode}: timing {entry.name} ...')
        times.append(time_runs(step, warmup, runs, device))
    return times


def benchmark_entry(entry: Entry,
                    modes: Iterable[str] = MODES,
                    **kwargs) -> List[Result]:
    """:func:`run_benchmark` of one entry: one :class:`Result` per mode."""
    return run_benchmark([entry], modes, **kwargs)
