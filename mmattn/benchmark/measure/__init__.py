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

Modules: ``records`` (modes, :class:`Entry`, :class:`Result`), ``flops``,
``memory``, ``timing``, ``runner`` (:func:`run_benchmark`) and ``report``.
"""
from .flops import count_flops, count_params, flops_by_op, register_flops
from .memory import peak_memory
from .records import FORWARD, FORWARD_BACKWARD, MODES, Entry, Result
from .report import (format_table, plot_results, ratios, results_to_json,
                     save_json)
from .runner import benchmark_entry, describe_inputs, make_step, run_benchmark
from .timing import time_fn, time_runs

__all__ = [
    'FORWARD', 'FORWARD_BACKWARD', 'MODES', 'Entry', 'Result',
    'count_params', 'count_flops', 'flops_by_op', 'register_flops',
    'peak_memory', 'time_fn', 'time_runs', 'make_step', 'benchmark_entry',
    'run_benchmark', 'ratios', 'format_table', 'results_to_json',
    'save_json', 'plot_results', 'describe_inputs'
]
