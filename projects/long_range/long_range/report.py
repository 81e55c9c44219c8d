"""Tables and plots of long-range benchmark records.

A record is one run (one model, one seed) as written by
:func:`long_range.recipe.run_seg` or its detection counterpart;
this module groups records by model and reports, over seeds, the mean of
each metric with its 95 % bootstrap interval (:mod:`long_range.stats`) and
the mean of each cost. Plotting needs matplotlib (Agg backend, no display).
"""
import math

import numpy as np

#: Columns of the segmentation table: (record key, header, format).
SEG_COLUMNS = (
    ('mIoU', 'mIoU', '.1f'),
    ('cue_accuracy', 'cue acc. %', '.1f'),
    ('swapped_cue_accuracy', 'swapped-cue acc. %', '.1f'),
    ('seconds_per_iter', 's / iter', '.3f'),
    ('peak_memory_mb', 'peak MB (train step)', '.0f'),
    ('params', 'params (k)', '.1f'),
    ('flops', 'GFLOPs (fwd, 1 image)', '.2f'),
)

#: Columns of the detection table.
DET_COLUMNS = (
    ('bbox_mAP', 'bbox mAP', '.1f'),
    ('bbox_mAP_50', 'bbox mAP@50', '.1f'),
    ('seconds_per_iter', 's / iter', '.3f'),
    ('peak_memory_mb', 'peak MB (train step)', '.0f'),
    ('params', 'params (k)', '.1f'),
    ('flops', 'GFLOPs (fwd, 1 image)', '.2f'),
)

#: Columns of the classification table.
CLS_COLUMNS = (('top1', 'top-1 %', '.1f'), ) + DET_COLUMNS[2:]

_SCALE = {'params': 1e-3, 'flops': 1e-9}

#: The accuracy metrics (percent): reported as mean [95 % bootstrap
#: interval] over seeds. Every other column is a cost, reported as a mean
#: (it hardly varies between seeds: its spread is noise, not news).
METRICS = ('mIoU', 'cue_accuracy', 'swapped_cue_accuracy', 'bbox_mAP',
           'bbox_mAP_50', 'top1')


def group_by_model(records):
    """``{model: [records]}`` in the order models first appear."""
    groups = {}
    for rec in records:
        groups.setdefault(rec['model'], []).append(rec)
    return groups


def mean_std(values):
    """Mean and sample standard deviation (0 for a single value)."""
    values = np.asarray([v for v in values if v is not None], dtype=float)
    if values.size == 0:
        return math.nan, math.nan
    std = float(values.std(ddof=1)) if values.size > 1 else 0.0
    return float(values.mean()), std


def summarise(records, columns):
    """One row per model: ``{'model', 'kind', 'seeds', key: (mean, std),
    'ci': {metric: (mean, low, high)}}``, the interval for the columns in
    :data:`METRICS`."""
    from .stats import bootstrap_ci
    rows = []
    for model, recs in group_by_model(records).items():
        row = dict(model=model, kind=recs[0].get('kind', ''),
                   seeds=sorted(r['seed'] for r in recs), ci={})
        for key, _, _ in columns:
            scale = _SCALE.get(key, 1.0)
            values = [r[key] * scale if r.get(key) is not None else None
                      for r in recs]
            row[key] = mean_std(values)
            if key in METRICS and not math.isnan(row[key][0]):
                row['ci'][key] = bootstrap_ci(values)
        rows.append(row)
    return rows


def _cell(mean, std, spec, with_std):
    if math.isnan(mean):
        return 'n/a'
    text = format(mean, spec)
    return f'{text} ± {format(std, spec)}' if with_std else text


def ci_cell(row, key, spec='.1f'):
    """``mean [low, high]`` of metric ``key`` of a :func:`summarise` row."""
    if key not in row['ci']:
        return 'n/a'
    mean, low, high = row['ci'][key]
    return (f'{format(mean, spec)} [{format(low, spec)}, '
            f'{format(high, spec)}]')


def _time_cell(recs, spec):
    """Seconds per iteration: the median of the quiet repeats with their
    range when the records have them (``--retime N --repeats R``), else the
    mean of the runs' own figures."""
    repeats = recs[0].get('seconds_per_iter_repeats')
    if repeats:
        return (f'{format(float(np.median(repeats)), spec)} '
                f'({format(min(repeats), spec)}-{format(max(repeats), spec)})')
    return format(float(np.mean([r['seconds_per_iter'] for r in recs])),
                  spec)


def format_markdown(records, columns=SEG_COLUMNS, anchor='fcn'):
    """Markdown table: each metric as mean [95 % bootstrap interval] over
    seeds, each cost as its mean, and the gap to ``anchor``.

    The first metric column's difference of means to the anchor model (the
    local baseline, measured in the same grid) is added as a column.
    Seconds per iteration are the quiet re-timing's median and range when
    the records have one (see :func:`_time_cell`).
    """
    rows = summarise(records, columns)
    groups = group_by_model(records)
    first = columns[0][0]
    base = next((r[first][0] for r in rows if r['model'] == anchor), None)
    head = ['model', 'kind', 'seeds'] + [
        f'{h} [95 % CI]' if key in METRICS else h for key, h, _ in columns]
    if base is not None:
        head.insert(4, f'Δ {columns[0][1]} vs {anchor}')
    lines = ['| ' + ' | '.join(head) + ' |',
             '|' + '|'.join(['---'] * 3 + ['---:'] * (len(head) - 3)) + '|']
    for row in rows:
        cells = [row['model'], row['kind'], str(len(row['seeds']))]
        for i, (key, _, spec) in enumerate(columns):
            mean, std = row[key]
            if key in METRICS:
                cells.append(ci_cell(row, key, spec))
            elif key == 'seconds_per_iter':
                cells.append(_time_cell(groups[row['model']], spec))
            else:
                cells.append(_cell(mean, std, spec, with_std=False))
            if i == 0 and base is not None:
                cells.append(format(mean - base, '+.1f'))
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def _scatter(ax, records, x_key, y_key, x_label, y_label, chance=None,
             bounds=(0.0, 100.0)):
    """Each model at the mean of ``x_key``: its seeds as small points, its
    mean with the 95 % bootstrap interval over seeds (clipped to
    ``bounds``, the metric's range) as the error bar."""
    from .stats import bootstrap_ci
    colours = {'local': 'tab:red', 'head': 'tab:blue', 'neck': 'tab:blue',
               'plugin': 'tab:green'}
    scale = _SCALE.get(x_key, 1.0)
    for model, recs in group_by_model(records).items():
        colour = colours.get(recs[0].get('kind'), 'tab:grey')
        x = float(np.mean([r[x_key] * scale for r in recs]))
        values = [r[y_key] for r in recs]
        mean, low, high = bootstrap_ci(values, bounds=bounds)
        ax.scatter([x] * len(values), values, s=12, color=colour, alpha=0.45,
                   linewidths=0)
        ax.errorbar(x, mean, yerr=[[mean - low], [high - mean]], fmt='o',
                    color=colour, capsize=3)
        ax.annotate(model, (x, mean), textcoords='offset points',
                    xytext=(4, 4), fontsize=8)
    if chance is not None:
        ax.axhline(chance, color='grey', linestyle='--', linewidth=1)
        ax.text(ax.get_xlim()[0], chance, ' chance', va='bottom',
                fontsize=8, color='grey')
    if bounds is not None:
        ax.set_ylim(bounds[0] - 2, bounds[1] + 2)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.grid(alpha=0.3)


#: The cost axes of the plots: deterministic ones (a single re-timing
#: cannot separate models whose times differ by less than about 30 %).
_COST_AXES = (('peak_memory_mb', 'peak memory of a training step (MB)'),
              ('flops', 'GFLOPs of one forward (one image)'))
_ERROR_BARS = ('\ndots: seeds; bars: 95 % bootstrap interval of the mean, '
               'within the metric\'s range')


def plot_seg(records, out_prefix, chance=100.0 / 8):
    """Write ``<prefix>_cost.png`` (accuracy against memory and FLOPs) and
    ``<prefix>_curves.png`` (cue accuracy and mIoU against iterations).

    Returns:
        list[str]: The files written.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, (key, label) in zip(axes, _COST_AXES):
        _scatter(ax, records, key, 'cue_accuracy', label,
                 'cue accuracy (%)', chance)
    fig.suptitle('Long-range benchmark: accuracy on the far cue against '
                 'cost (red: local, blue: heads, green: plugins)'
                 + _ERROR_BARS, fontsize=10)
    fig.tight_layout()
    cost_png = f'{out_prefix}_cost.png'
    fig.savefig(cost_png, dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    # More models than the default cycle has colours: 20 distinct ones,
    # dashed for plugins, the local baseline in black.
    palette = plt.get_cmap('tab20').colors
    for i, (model, recs) in enumerate(group_by_model(records).items()):
        kind = recs[0].get('kind')
        style = dict(color='black' if kind == 'local' else
                     palette[i % len(palette)],
                     linestyle='--' if kind == 'plugin' else '-')
        iters = [p['iter'] for p in recs[0]['curve']]
        for ax, key in zip(axes, ('cue_accuracy', 'mIoU')):
            vals = np.array([[p[key] for p in r['curve']] for r in recs
                             if len(r['curve']) == len(iters)])
            ax.plot(iters, vals.mean(0), marker='o', markersize=3,
                    label=model, **style)
            for seed_curve in vals:  # every seed, faint
                ax.plot(iters, seed_curve, linewidth=0.6, alpha=0.3,
                        color=style['color'], linestyle=style['linestyle'])
    for ax, label in zip(axes, ('cue accuracy (%)', 'mIoU')):
        ax.set_xlabel('iteration')
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].axhline(chance, color='grey', linestyle='--', linewidth=1)
    axes[1].legend(fontsize=7, ncol=2)
    fig.suptitle('Learning curves on the validation split (thick: mean over '
                 'seeds, faint: each seed; dashed: plugins, black: local '
                 'baseline)', fontsize=10)
    fig.tight_layout()
    curves_png = f'{out_prefix}_curves.png'
    fig.savefig(curves_png, dpi=110)
    plt.close(fig)
    return [cost_png, curves_png]


def _plot_cost(records, metric, label, title, out_prefix, chance=None):
    """Write ``<prefix>_cost.png``: ``metric`` against memory and FLOPs."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, (key, x_label) in zip(axes, _COST_AXES):
        _scatter(ax, records, key, metric, x_label, label, chance)
    fig.suptitle(title + _ERROR_BARS, fontsize=10)
    fig.tight_layout()
    path = f'{out_prefix}_cost.png'
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


def plot_det(records, out_prefix):
    """Write ``<prefix>_cost.png``: bbox mAP against memory and FLOPs."""
    return _plot_cost(
        records, 'bbox_mAP', 'bbox mAP',
        'Long-range benchmark, detection: bbox mAP against cost (red: '
        'plain, blue: necks, green: plugins)', out_prefix)


def plot_cls(records, out_prefix):
    """Write ``<prefix>_cost.png``: top-1 against memory and FLOPs."""
    return _plot_cost(
        records, 'top1', 'top-1 %',
        'Long-range benchmark, classification: top-1 against cost (red: '
        'plain, green: plugins; dashed: chance)', out_prefix, 100.0 / 8)


#: What each segmentation model of the grid is, for the README's table.
SEG_LABELS = {
    'fcn': 'none (FCN head: local baseline)', 'spa': 'SPANet head (SPAHead)',
    'da': 'DANet head (DAHead)', 'nl': 'non-local head (NLHead)',
    'cc': 'criss-cross head (CCHead)', 'gc': 'global context head (GCHead)',
    'ann': 'ANN head (ANNHead)', 'ocr': 'OCR head (OCRHead)',
    'se': 'SE plugin', 'eca': 'ECA plugin', 'cbam': 'CBAM plugin',
    'spenet': 'SPENet plugin', 'spa-plugin': 'SPANet plugin',
    'gc-plugin': 'GC plugin',
    'efficient': 'efficient attention head', 'external': 'external '
    'attention head (EANet)',
    'spa-plugin-zero': 'SPANet plugin, identity start (zero_init)',
    'spa-scaled': 'SPANet head, energies / sqrt(k) (use_scale)',
    'efficient-plugin': 'efficient attention plugin',
    'efficient-plugin-zero': 'efficient attention plugin, identity start',
    'external-plugin': 'external attention plugin',
    'external-plugin-zero': 'external attention plugin, identity start'}


def format_summary(records):
    """The README's table: one row per model, best mIoU first; mIoU and cue
    accuracy as mean [95 % bootstrap interval] over seeds, and the model's
    cost (parameters, FLOPs, peak memory of a training step)."""
    rows = summarise(records, SEG_COLUMNS)
    rows.sort(key=lambda r: -r['mIoU'][0])
    lines = ['| attention | mIoU [95 % CI] | cue accuracy % [95 % CI] | '
             'seeds | params (k) | GFLOPs | peak MB (train step) |',
             '|---|---:|---:|---:|---:|---:|---:|']
    for row in rows:
        lines.append(
            f"| {SEG_LABELS.get(row['model'], row['model'])} | "
            f"{ci_cell(row, 'mIoU')} | {ci_cell(row, 'cue_accuracy')} | "
            f"{len(row['seeds'])} | {_cell(*row['params'], '.0f', False)} | "
            f"{_cell(*row['flops'], '.2f', False)} | "
            f"{_cell(*row['peak_memory_mb'], '.0f', False)} |")
    return '\n'.join(lines) + '\n'
