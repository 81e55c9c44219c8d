"""Reporting: ratios against the anchor, the markdown table, JSON and plots."""
import json
import os
from typing import Dict, List, Optional, Sequence

import torch

from .records import Result


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
