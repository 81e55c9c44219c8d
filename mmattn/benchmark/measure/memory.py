"""Peak memory of one call: the CUDA allocator's statistics on GPU, the
profiler's allocation events on CPU."""
import contextlib
import os
import sys
from typing import Any, Callable, Union

import torch


# --------------------------------------------------------------------------
# memory
# --------------------------------------------------------------------------
_CPU_MEMORY_DEVICES = ('CPU', 'MKLDNN', 'IDEEP')


@contextlib.contextmanager
def _quiet_native_stderr():
    """Silence native (C++) writes to fd 2, e.g. Kineto's start/stop lines."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (e.g. some notebooks)
        yield
        return
    try:
        with open(os.devnull, 'w') as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _cpu_peak_memory(fn: Callable[[], Any]) -> int:
    """Peak live CPU tensor bytes allocated during ``fn()``.

    The profiler (``profile_memory=True``) records one ``[memory]`` event per
    allocation (+bytes) and per free (-bytes) of the CPU allocator, with a
    timestamp. These raw events (``kineto_results.events()``) are summed in
    time order; the running sum is the number of bytes allocated during the
    call and still alive, and its maximum is the peak. Blocks allocated before
    profiling started and freed during it produce no event (the profiler
    drops them), so they neither count nor cancel anything. The per-op
    ``FunctionEvent.cpu_memory_usage`` is *not* used: it is a per-op net sum
    that nests (a parent includes its children) and hides the transient peak
    inside an op.
    """
    from torch.autograd import profiler as autograd_profiler
    prof = autograd_profiler.profile(
        use_cpu=True, profile_memory=True, record_shapes=False)
    with _quiet_native_stderr():
        prof.__enter__()
    try:
        fn()
    finally:
        with _quiet_native_stderr():
            prof.__exit__(None, None, None)
    events = [
        e for e in prof.kineto_results.events()
        if e.name() == '[memory]'
        and str(e.device_type()).split('.')[-1] in _CPU_MEMORY_DEVICES
    ]
    events.sort(key=lambda e: e.start_ns())
    live = peak = 0
    for e in events:
        live += int(e.nbytes())
        peak = max(peak, live)
    return peak


def peak_memory(fn: Callable[[], Any],
                device: Union[str, torch.device] = 'cpu') -> int:
    """Peak bytes allocated by one call of ``fn()`` above the live baseline.

    On CUDA: ``torch.cuda.max_memory_allocated`` after
    ``reset_peak_memory_stats``, minus ``memory_allocated`` before the call
    (tensor bytes of the caching allocator, not the reserved pool). On CPU:
    the peak of live bytes from the profiler's allocation events (see
    :func:`_cpu_peak_memory`). What ``fn`` returns is alive at the end of the
    call and so is included.
    """
    device = torch.device(device)
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        fn()
        torch.cuda.synchronize(device)
        return max(0, torch.cuda.max_memory_allocated(device) - base)
    if device.type == 'cpu':
        return _cpu_peak_memory(fn)
    raise ValueError(f'peak_memory: unsupported device {device}')
