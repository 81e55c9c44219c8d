"""Measurement primitives of the benchmark harness (PyTorch only).

Everything here works on a plain ``nn.Module`` and a factory of its inputs; the
OpenMMLab side (registries, configs, named cases) lives in
:mod:`mmattn.benchmark.cases`.

Conventions:

* FLOPs are counted by :class:`torch.utils.flop_counter.FlopCounterMode`, one
  multiply-add = 2 FLOPs. It counts ``mm``/``addmm``/``bmm``/``baddbmm``
  (``matmul``, ``@``, ``einsum`` and ``nn.Linear`` all lower to these),
  convolutions and their backward, and scaled-dot-product attention. Unlike
  mmcv's hook-based counter it sees the attention matmuls of a block, because
  it counts at the ATen op level, not per ``nn.Module`` type. Element-wise ops,
  softmax and normalisation are not counted (they are memory bound anyway).
* Peak memory is the peak of live tensor bytes allocated by one call above what
  was live before it: the CUDA caching allocator's statistics on GPU, the
  profiler's allocation events on CPU (see :func:`peak_memory`).
* Times are medians of wall-clock times of ``runs`` calls after ``warmup``
  calls, with ``torch.cuda.synchronize`` around each call on CUDA.
"""
import contextlib
import json
import math
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, \
    Sequence, Tuple, Union

import torch
from torch import nn

__all__ = [
    'FORWARD', 'FORWARD_BACKWARD', 'MODES', 'Entry', 'Result',
    'count_params', 'count_flops', 'flops_by_op', 'register_flops',
    'peak_memory', 'time_fn', 'time_runs', 'make_step', 'benchmark_entry',
    'run_benchmark', 'ratios', 'format_table', 'results_to_json',
    'save_json', 'plot_results', 'describe_inputs'
]

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


# --------------------------------------------------------------------------
# parameters and FLOPs
# --------------------------------------------------------------------------
def count_params(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters of ``module`` (shared parameters counted once)."""
    seen = set()
    total = 0
    for p in module.parameters():
        if id(p) in seen or (trainable_only and not p.requires_grad):
            continue
        seen.add(id(p))
        total += p.numel()
    return total


def _extra_flop_formulas() -> dict:
    """Formulas FlopCounterMode lacks: the fused CPU SDPA kernel.

    On CPU ``F.scaled_dot_product_attention`` dispatches to
    ``_scaled_dot_product_flash_attention_for_cpu`` (and its backward), which
    the stock registry does not know, so the attention of an SDPA-based block
    would count as zero on CPU. Their leading arguments are the same as those
    of the CUDA kernels, so the stock formulas apply.
    """
    from torch.utils import flop_counter as fc
    aten = torch.ops.aten
    extra = {}
    pairs = [('_scaled_dot_product_flash_attention_for_cpu',
              '_scaled_dot_product_flash_attention'),
             ('_scaled_dot_product_flash_attention_for_cpu_backward',
              '_scaled_dot_product_flash_attention_backward')]
    for op_name, like_name in pairs:
        op = getattr(aten, op_name, None)
        like = getattr(aten, like_name, None)
        formula = fc.flop_registry.get(like)
        if op is None or formula is None or op in fc.flop_registry:
            continue

        def raw(*args, _formula=formula, **kwargs):
            return _formula(*args, **kwargs)

        # ``formula`` is registered already wrapped (it takes tensors and
        # ``out_val``); tell FlopCounterMode not to wrap it a second time.
        raw._get_raw = True
        extra[op] = raw

    # The stock convolution_backward formula ignores ``groups``: it counts a
    # depthwise conv's backward as if the conv were dense (66x its forward for
    # 64 groups). Each MAC of a (non-transposed) grouped conv's forward is one
    # MAC of grad_input and one of grad_weight, so count exactly that.
    stock_conv_backward = fc.flop_registry.get(aten.convolution_backward)
    if stock_conv_backward is not None:

        def conv_backward(grad_out, x, weight, bias, stride, padding,
                          dilation, transposed, output_padding, groups,
                          output_mask, *args, **kwargs):
            if groups == 1 or transposed:
                return stock_conv_backward(
                    grad_out, x, weight, bias, stride, padding, dilation,
                    transposed, output_padding, groups, output_mask, *args,
                    **kwargs)
            forward = 2 * grad_out.numel() * math.prod(weight.shape[1:])
            return forward * (int(output_mask[0]) + int(output_mask[1]))

        conv_backward._get_raw = True
        extra[aten.convolution_backward] = conv_backward

    # In-place accumulating products (``out.baddbmm_(a, b)``, ``addmm_``:
    # how a hand-written backward sums per-block gradients) count as their
    # out-of-place forms; the stock registry has only the latter.
    for inplace, like in (('baddbmm_', 'baddbmm'), ('addmm_', 'addmm')):
        op = getattr(aten, inplace, None)
        formula = fc.flop_registry.get(getattr(aten, like, None))
        if op is None or formula is None or op in fc.flop_registry:
            continue

        def raw_inplace(*args, _formula=formula, **kwargs):
            return _formula(*args, **kwargs)

        raw_inplace._get_raw = True
        extra[op] = raw_inplace
    return extra


#: Formulas added with :func:`register_flops`, by op packet.
_USER_FORMULAS: Dict[Any, Callable[..., int]] = {}


def register_flops(op, formula: Callable[..., int]) -> None:
    """Teach the counter the FLOPs of an op it does not know.

    ``op`` is an op packet as the dispatcher sees it, e.g.
    ``torch.ops.mmattn.my_attention`` for a ``torch.library`` custom op;
    ``formula(*args, out_val=output, **kwargs) -> int`` gets the op's actual
    arguments (tensors) and output. Work the dispatcher never sees (a raw
    Triton launch or a compiled extension called from an
    ``autograd.Function``) counts zero unless wrapped in such an op.
    """
    packet = getattr(op, '_overloadpacket', op)

    def raw(*args, **kwargs):
        return formula(*args, **kwargs)

    raw._get_raw = True
    _USER_FORMULAS[packet] = raw


def _count(fn: Callable[[], Any]) -> Tuple[int, Dict[str, int]]:
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(
        display=False,
        custom_mapping={**_extra_flop_formulas(), **_USER_FORMULAS})
    with counter:
        fn()
    by_op = counter.get_flop_counts().get('Global', {})
    by_op = {str(op): int(n) for op, n in by_op.items()}
    return int(counter.get_total_flops()), by_op


def count_flops(fn: Callable[[], Any]) -> int:
    """FLOPs (multiply-add = 2) of one call of ``fn()``, matmuls included.

    ``fn`` is run once under ``torch.utils.flop_counter.FlopCounterMode``; if
    it runs a backward, the backward's FLOPs are counted too.
    """
    return _count(fn)[0]


def flops_by_op(fn: Callable[[], Any]) -> Dict[str, int]:
    """FLOPs of one call of ``fn()`` per ATen op: ``{'aten.bmm': n, ...}``."""
    return _count(fn)[1]


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
    built = []
    for entry in entries:
        say(f'building {entry.name} ...')
        if seed is not None:
            torch.manual_seed(seed)
        module = entry.make_module().to(device)
        args = _map_tensors(
            _as_args(entry.make_inputs()), lambda t: t.to(device))
        built.append((entry, module, args))

    results = []
    for mode in modes:
        steps, step_args = [], []
        for entry, module, args in built:
            if mode == FORWARD_BACKWARD:
                args = _map_tensors(
                    args, lambda t: t.detach().requires_grad_(
                        entry.input_requires_grad and t.is_floating_point()))
            steps.append(make_step(module, args, mode))
            step_args.append(args)

        def set_state(module):
            module.train(mode == FORWARD_BACKWARD)

        counts = []
        for (entry, module, _), step in zip(built, steps):
            set_state(module)
            say(f'{mode}: counting FLOPs of {entry.name} ...')
            counts.append(_count(step) if flops else (None, {}))
        if not timing:
            times = [[] for _ in steps]
        elif interleave and len(steps) > 1:
            for _, module, _ in built:
                set_state(module)
            say(f'{mode}: timing {len(steps)} implementations in turn ...')
            times = _time_interleaved(steps, warmup, runs, device)
        else:
            times = []
            for (entry, module, _), step in zip(built, steps):
                set_state(module)
                say(f'{mode}: timing {entry.name} ...')
                times.append(time_runs(step, warmup, runs, device))
        for (entry, module, _), step, args, (n_flops, by_op), t in zip(
                built, steps, step_args, counts, times):
            set_state(module)
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
    del built, steps
    if device.type == 'cuda':
        torch.cuda.empty_cache()
    return results


def benchmark_entry(entry: Entry,
                    modes: Iterable[str] = MODES,
                    **kwargs) -> List[Result]:
    """:func:`run_benchmark` of one entry: one :class:`Result` per mode."""
    return run_benchmark([entry], modes, **kwargs)


# --------------------------------------------------------------------------
# reporting
# --------------------------------------------------------------------------
def _anchors(results: Sequence[Result],
             baseline: Optional[str]) -> Dict[str, Result]:
    """The anchor row per mode: ``baseline``'s, else the first of the mode."""
    anchors = {}
    for r in results:
        if baseline is None:
            anchors.setdefault(r.mode, r)
        elif r.name == baseline:
            anchors.setdefault(r.mode, r)
    if baseline is not None and not anchors:
        names = sorted({r.name for r in results})
        raise ValueError(f'baseline {baseline!r} is not one of {names}')
    return anchors


def _ratio(value, anchor) -> Optional[float]:
    if value is None or anchor is None or anchor == 0:
        return None
    return value / anchor


def ratios(results: Sequence[Result],
           baseline: Optional[str] = None) -> List[Dict[str, Optional[float]]]:
    """Per result: ``time_ratio``/``mem_ratio``/``flops_ratio`` vs the anchor.

    The anchor is the row of the same mode named ``baseline`` (default: the
    first row of that mode), so ``2.0`` means twice the anchor's value.
    """
    anchors = _anchors(results, baseline)
    out = []
    for r in results:
        a = anchors.get(r.mode)
        out.append(
            dict(
                time_ratio=_ratio(r.median_ms, a and a.median_ms),
                mem_ratio=_ratio(r.peak_mem_mb, a and a.peak_mem_mb),
                flops_ratio=_ratio(r.gflops, a and a.gflops)))
    return out


def _fmt(value, spec: str) -> str:
    return '-' if value is None else format(value, spec)


def format_table(results: Sequence[Result],
                 baseline: Optional[str] = None,
                 show_ratios: Optional[bool] = None) -> str:
    """The results as an aligned Markdown (pipe) table.

    Columns: name, mode, input, median ms, peak MB, params (M), GFLOPs and,
    when more than one implementation is present (or ``show_ratios``), the
    time and memory ratios against the anchor (``baseline`` or the first
    implementation) of the same mode.
    """
    if show_ratios is None:
        show_ratios = len({r.name for r in results}) > 1
    header = [
        'name', 'mode', 'input', 'median ms', 'peak MB', 'params (M)',
        'GFLOPs'
    ]
    align = ['<', '<', '<', '>', '>', '>', '>']
    if show_ratios:
        header += ['time x', 'mem x']
        align += ['>', '>']
    rows = []
    for r, rat in zip(results, ratios(results, baseline)):
        row = [
            r.name, r.mode, r.input_shape,
            _fmt(r.median_ms, '.2f'),
            _fmt(r.peak_mem_mb, '.1f'),
            _fmt(r.params_m, '.3f'),
            _fmt(r.gflops, '.3f')
        ]
        if show_ratios:
            row += [
                _fmt(rat['time_ratio'], '.2f'),
                _fmt(rat['mem_ratio'], '.2f')
            ]
        rows.append(row)
    widths = [
        max(len(str(c)) for c in col) for col in zip(header, *rows)
    ]

    def line(cells):
        padded = (format(c, f'{a}{w}')
                  for c, a, w in zip(cells, align, widths))
        return '| ' + ' | '.join(padded) + ' |'

    rule = '|' + '|'.join(
        (':' if a == '<' else '-') + '-' * w + (':' if a == '>' else '-')
        for a, w in zip(align, widths)) + '|'
    return '\n'.join([line(header), rule] + [line(r) for r in rows])


def results_to_json(results: Sequence[Result],
                    baseline: Optional[str] = None,
                    meta: Optional[dict] = None) -> dict:
    """``{'meta': {...}, 'results': [Result fields + ratios, ...]}``."""
    info = dict(
        torch=torch.__version__,
        num_threads=torch.get_num_threads(),
        cuda_device=(torch.cuda.get_device_name()
                     if torch.cuda.is_available() else None),
        baseline=baseline or (results[0].name if results else None))
    info.update(meta or {})
    rows = []
    for r, rat in zip(results, ratios(results, baseline)):
        row = r.to_dict()
        row.update(rat)
        rows.append(row)
    return dict(meta=info, results=rows)


def save_json(path: str, results: Sequence[Result],
              baseline: Optional[str] = None,
              meta: Optional[dict] = None) -> dict:
    data = results_to_json(results, baseline, meta)
    dirname = os.path.dirname(os.path.abspath(path))
    os.makedirs(dirname, exist_ok=True)
    with open(path, 'w') as f:
        json.dump(data, f, indent=2)
        f.write('\n')
    return data


def plot_results(path: str, results: Sequence[Result],
                 title: Optional[str] = None) -> None:
    """Bar charts of median time, peak memory and GFLOPs per implementation.

    One group of bars per mode, one bar per implementation. Needs matplotlib
    (imported here, with the non-interactive ``Agg`` backend).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r.name for r in results))
    modes = list(dict.fromkeys(r.mode for r in results))
    by_key = {(r.name, r.mode): r for r in results}
    metrics = [('median_ms', 'median time (ms)'),
               ('peak_mem_mb', 'peak memory (MB)'), ('gflops', 'GFLOPs')]
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(4.2 * len(metrics), 3.6), squeeze=False)
    width = 0.8 / max(1, len(names))
    for ax, (attr, label) in zip(axes[0], metrics):
        for i, name in enumerate(names):
            xs, ys = [], []
            for j, mode in enumerate(modes):
                r = by_key.get((name, mode))
                value = getattr(r, attr) if r is not None else None
                if value is not None:
                    xs.append(j + (i - (len(names) - 1) / 2) * width)
                    ys.append(value)
            ax.bar(xs, ys, width=width, label=name)
        ax.set_xticks(range(len(modes)))
        ax.set_xticklabels(modes)
        ax.set_title(label)
    axes[0][0].legend(fontsize='small')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    dirname = os.path.dirname(os.path.abspath(path))
    os.makedirs(dirname, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
