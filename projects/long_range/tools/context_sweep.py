"""Context sweep of the long-range benchmark: accuracy along one property of
the cue, per model.

``--axis cue-width`` varies the width of the colour bar (a pooling mechanism
such as SE or GC averages a narrow bar away, a selective one such as PAM or
SPANet's top-k should still find it); ``--axis margin`` varies the least
distance between the bar and any shape (a local model solves the task
while the margin is inside its receptive field). Everything else is the
benchmark's recipe (docs/long_range.md). One dataset per value is written
next to ``--data`` (``<data>_<axis><value>``) unless it is there already;
the value the dataset in ``--data`` has (16 px wide, 96 px away) uses it.

Writes ``OUT/sweep.json`` (one record per run, with ``axis`` and ``value``;
runs already there are skipped, so an interrupted sweep resumes),
``OUT/sweep.md`` (mean [95 % CI] of cue accuracy per model and value) and
``OUT/sweep.png`` (cue accuracy against the axis, one line per model, every
seed a dot).

Example (the pilot: two widths, a few models, one seed)::

    python projects/long_range/tools/context_sweep.py --axis cue-width \\
        --values 4 16 --models fcn se gc spa da --seeds 0 --iters 600 \\
        --out work_dirs/sweep_pilot
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

PROJECT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ROOT = osp.dirname(osp.dirname(PROJECT))
for path in (ROOT, PROJECT):
    if path not in sys.path:
        sys.path.insert(0, path)

from long_range import recipe as lr  # noqa: E402
from long_range import report  # noqa: E402

#: --axis -> the data option it sets (mmattn.datasets.make_cityscapes).
AXES = {'cue-width': 'cue_width', 'margin': 'margin'}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--axis', required=True, choices=sorted(AXES))
    parser.add_argument('--values', required=True, nargs='+', type=int,
                        metavar='PX', help='pixels, one dataset each')
    parser.add_argument('--models', nargs='+', required=True,
                        metavar='NAME', help=', '.join(lr.SEG_MODELS))
    parser.add_argument('--seeds', nargs='+', type=int, default=[0])
    parser.add_argument('--iters', type=int, default=600)
    parser.add_argument('--out', required=True)
    parser.add_argument('--data', default=osp.join(
        ROOT, 'data', 'long_range_cityscapes'),
        help='prefix of the datasets\' folders')
    parser.add_argument(
        '--reuse', metavar='RESULTS_JSON',
        help='a long_range_benchmark.py results.json made on --data itself: '
        'its runs (same model, seed and iterations) stand for the value the '
        'dataset in --data has, instead of training them again')
    parser.add_argument('--num-train', type=int)
    parser.add_argument('--num-val', type=int)
    args = parser.parse_args(argv)
    unknown = [m for m in args.models if m not in lr.SEG_MODELS]
    if unknown:
        parser.error(f'--models: unknown {", ".join(unknown)} (known: '
                     f'{", ".join(lr.SEG_MODELS)})')
    for name in ('iters', 'num_train', 'num_val'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, got '
                         f'{value}')
    return args


def _load(path):
    if not osp.exists(path):
        return []
    with open(path) as f:
        return json.load(f)['runs']


def _data_root(prefix, axis, value):
    """The folder of the dataset with ``value`` on ``axis``: ``prefix``
    itself when the dataset there already has it (the benchmark's own data
    for its own bar width and margin), else ``<prefix>_<axis><value>``."""
    from mmattn.datasets import META_FILE
    key = dict(AXES, **{'cue-width': 'marker_side'})[axis]
    meta_path = osp.join(prefix, META_FILE)
    if osp.exists(meta_path):
        with open(meta_path) as f:
            if json.load(f).get(key) == value:
                return prefix
    return f'{prefix}_{axis.replace("-", "")}{value}'


def format_sweep(records):
    """Markdown: one row per model, one column per value of the axis, cue
    accuracy as mean [95 % bootstrap interval] over seeds."""
    from long_range.stats import bootstrap_ci
    axis = records[0]['axis']
    values = sorted({r['value'] for r in records})
    lines = [f'| model | ' + ' | '.join(f'{axis} {v} px' for v in values)
             + ' |', '|---|' + '---:|' * len(values)]
    for model, recs in report.group_by_model(records).items():
        cells = []
        for v in values:
            accs = [r['cue_accuracy'] for r in recs if r['value'] == v]
            if not accs:
                cells.append('')
                continue
            mean, low, high = bootstrap_ci(accs)
            cells.append(f'{mean:.1f} [{low:.1f}, {high:.1f}] ({len(accs)})')
        lines.append(f'| {model} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def plot_sweep(records, path, chance=100.0 / lr.NUM_CUES):
    """Cue accuracy against the axis, a line through each model's means,
    every seed a dot."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
    axis = records[0]['axis']
    fig, ax = plt.subplots(figsize=(7, 4.5))
    palette = plt.get_cmap('tab10').colors
    for i, (model, recs) in enumerate(
            report.group_by_model(records).items()):
        colour = 'black' if recs[0]['kind'] == 'local' else \
            palette[i % len(palette)]
        values = sorted({r['value'] for r in recs})
        means = [np.mean([r['cue_accuracy'] for r in recs
                          if r['value'] == v]) for v in values]
        ax.plot(values, means, marker='o', color=colour, label=model,
                linestyle='--' if recs[0]['kind'] == 'plugin' else '-')
        ax.scatter([r['value'] for r in recs],
                   [r['cue_accuracy'] for r in recs], s=10, alpha=0.4,
                   color=colour, linewidths=0)
    ax.axhline(chance, color='grey', linestyle=':', linewidth=1)
    ax.set_xlabel(f'{axis} (px)')
    ax.set_ylabel('cue accuracy (%)')
    ax.set_ylim(-2, 102)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f'Long-range benchmark: cue accuracy along {axis}\n'
                 '(lines: mean over seeds; dots: seeds; dashed: plugins; '
                 'dotted: chance)', fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    path = osp.join(args.out, 'sweep.json')
    records = [r for r in _load(path)
               if r['axis'] == args.axis and r['iters'] == args.iters]
    done = {(r['model'], r['seed'], r['value']) for r in records}
    option = AXES[args.axis]
    grid = [(v, s, m) for v in args.values for s in args.seeds
            for m in args.models]
    meta = dict(axis=args.axis, iters=args.iters,
                command='python projects/long_range/tools/context_sweep.py '
                + ' '.join(argv if argv is not None else sys.argv[1:]))
    reusable = {}
    if args.reuse:
        with open(args.reuse) as f:
            reusable = {(r['model'], r['seed']): r
                        for r in json.load(f)['runs']
                        if r['iters'] == args.iters}
    start = time.perf_counter()
    for i, (value, seed, model) in enumerate(grid, 1):
        if (model, seed, value) in done:
            continue
        data = _data_root(args.data, args.axis, value)
        if data == args.data and (model, seed) in reusable:
            records.append(dict(reusable[(model, seed)], axis=args.axis,
                                value=value, data=osp.relpath(data, ROOT),
                                reused=args.reuse))
            lr.save_records(path, records, meta)
            continue
        lr.ensure_seg_data(data, args.num_train, args.num_val,
                           **{option: value})
        split = lr.load_split(data, 'val')
        rec, _ = lr.run_seg(
            model, seed, args.iters, data,
            osp.join(args.out, 'runs', f'{model}_{args.axis}{value}_seed'
                     f'{seed}'), split=split)
        rec.update(axis=args.axis, value=value,
                   data=osp.relpath(data, ROOT))
        records.append(rec)
        lr.save_records(path, records, meta)
        print(f'[sweep] {i}/{len(grid)} {model} {args.axis} {value} seed '
              f'{seed}: cue acc. {rec["cue_accuracy"]:.1f}%, mIoU '
              f'{rec["mIoU"]:.1f}; {(time.perf_counter() - start) / 60:.1f} '
              'min so far', flush=True)
    table = format_sweep(records)
    with open(osp.join(args.out, 'sweep.md'), 'w') as f:
        f.write(table)
    plot_sweep(records, osp.join(args.out, 'sweep.png'))
    print(table)
    return records


if __name__ == '__main__':
    main()
