"""Wall-clock timing: medians after warm-up, implementations interleaved."""
import statistics
import time
from typing import Any, Callable, List, Optional, Sequence, Union

import torch


# --------------------------------------------------------------------------
# time
# --------------------------------------------------------------------------
def _sync(device: Optional[torch.device]) -> None:
    if device is not None and device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_runs(fn: Callable[[], Any], warmup: int = 2, runs: int = 5,
              device: Union[str, torch.device, None] = None) -> List[float]:
    """Wall-clock seconds of each of ``runs`` calls after ``warmup`` calls."""
    if runs < 1:
        raise ValueError('runs must be >= 1')
    device = torch.device(device) if device is not None else None
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return times


def time_fn(fn: Callable[[], Any], warmup: int = 2, runs: int = 5,
            device: Union[str, torch.device, None] = None) -> float:
    """Median wall-clock seconds of ``fn()`` over ``runs`` calls."""
    return statistics.median(time_runs(fn, warmup, runs, device))


def _time_interleaved(steps: Sequence[Callable[[], Any]], warmup: int,
                      runs: int,
                      device: Optional[torch.device]) -> List[List[float]]:
    """Like :func:`time_runs` for several steps, taking turns run by run.

    Round-robin timing spreads a change of machine load (another process
    starting, thermal throttling) over every implementation instead of
    charging it to whichever happened to be measured at that moment.
    """
    for _ in range(warmup):
        for step in steps:
            step()
    _sync(device)
    times = [[] for _ in steps]
    for _ in range(runs):
        for step, record in zip(steps, times):
            start = time.perf_counter()
            step()
            _sync(device)
            record.append(time.perf_counter() - start)
    return times
