"""Benchmark harness: time, peak memory, parameters and FLOPs (matmuls
included) of blocks, heads and whole models; see ``docs/benchmark.md``.

:mod:`mmattn.benchmark.measure` needs only PyTorch;
:mod:`mmattn.benchmark.cases` holds the named comparison cases and imports
the OpenMMLab packages lazily.
"""
from .measure import (FORWARD, FORWARD_BACKWARD, MODES, Entry, Result,
                      benchmark_entry, count_flops, count_params,
                      describe_inputs, flops_by_op, format_table, make_step,
                      peak_memory, plot_results, ratios, register_flops,
                      results_to_json, run_benchmark, save_json, time_fn,
                      time_runs)

__all__ = [
    'FORWARD', 'FORWARD_BACKWARD', 'MODES', 'Entry', 'Result',
    'benchmark_entry', 'count_flops', 'count_params', 'describe_inputs',
    'flops_by_op', 'format_table', 'make_step', 'peak_memory',
    'plot_results', 'ratios', 'register_flops', 'results_to_json',
    'run_benchmark', 'save_json', 'time_fn', 'time_runs'
]
