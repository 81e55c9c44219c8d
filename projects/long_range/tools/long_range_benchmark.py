"""Long-range benchmark: which attention brings context from far away?

Trains every model of the grid on one recipe (projects/long_range/configs/seg/ for
segmentation, projects/long_range/configs/det/ for detection, projects/long_range/configs/cls/
for classification) with each seed, and writes

* ``OUT/results.json``: one record per run (model, seed, mIoU, cue accuracy,
  swapped-cue accuracy, seconds per iteration, peak memory, params, FLOPs,
  learning curves); runs already in it are skipped, so an interrupted grid
  continues where it stopped;
* ``OUT/results.md``: the table, mean ± std over seeds;
* ``OUT/long_range_cost.png`` and ``OUT/long_range_curves.png`` (detection:
  ``OUT/long_range_det_cost.png``), and ``OUT/samples.png`` (segmentation:
  four training images and their labels).

Examples::

    python projects/long_range/tools/long_range_benchmark.py --out work_dirs/long_range
    python projects/long_range/tools/long_range_benchmark.py --models fcn spa --seeds 0 --iters 300
    python projects/long_range/tools/long_range_benchmark.py --task det --out work_dirs/lr_det
    python projects/long_range/tools/long_range_benchmark.py --task cls --out work_dirs/lr_cls

See docs/long_range.md for the recipe, the properties it is checked for and
the published results.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

import numpy as np

PROJECT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ROOT = osp.dirname(osp.dirname(PROJECT))  # the repository
for path in (ROOT, PROJECT):  # mmattn from the checkout, and long_range
    if path not in sys.path:
        sys.path.insert(0, path)

from long_range import recipe as lr  # noqa: E402
from long_range import pictures, report  # noqa: E402

DEFAULT_ITERS = dict(seg=300, det=300, cls=300)
MODELS = dict(seg=lr.SEG_MODELS, det=lr.DET_MODELS, cls=lr.CLS_MODELS)
DATA = dict(seg='cityscapes', det='coco', cls='imagenet')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--task', choices=('seg', 'det', 'cls'),
                        default='seg')
    parser.add_argument(
        '--models', nargs='+', metavar='NAME',
        help='models to train (default: all of the task). ' + '; '.join(
            f'{task}: ' + ', '.join(names) for task, names in MODELS.items()))
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument(
        '--iters', type=int,
        help='training iterations per run (default: 300, the schedule of the '
        'recipes)')
    parser.add_argument(
        '--val-points', type=int, default=3, metavar='N',
        help='segmentation: validate N times, evenly spread (default 3); '
        'more points draw a finer learning curve, as the budget pilot '
        'does (docs/long_range.md)')
    parser.add_argument('--out', default=osp.join(ROOT, 'work_dirs',
                                                  'long_range'))
    parser.add_argument(
        '--data', help='dataset folder, written when missing or different '
        '(default: data/long_range_cityscapes or data/long_range_coco)')
    parser.add_argument('--num-train', type=int,
                        help='training images (default: the recipe\'s)')
    parser.add_argument('--num-val', type=int,
                        help='validation images (default: the recipe\'s)')
    parser.add_argument('--batch-size', type=int,
                        help='images per iteration (default: the config\'s)')
    parser.add_argument(
        '--retime', type=int, metavar='N',
        help='after the grid, time N training iterations of each model '
        'alone and report their median as seconds per iteration (the grid\'s '
        'own figure is kept as seconds_per_iter_grid); run it on a quiet '
        'machine')
    parser.add_argument(
        '--repeats', type=int, default=3, metavar='R',
        help='with --retime: time every model R times, round-robin, and '
        'report the median and the range of the repeats (default 3)')
    parser.add_argument(
        '--replot', action='store_true',
        help='train nothing: redraw results.md and the plots from '
        'OUT/results.json (of --task)')
    args = parser.parse_args(argv)
    known = MODELS[args.task]
    args.models = args.models or list(known)
    unknown = [m for m in args.models if m not in known]
    if unknown:
        parser.error(f'--models: unknown for --task {args.task}: '
                     f'{", ".join(unknown)} (known: {", ".join(known)})')
    if args.iters is None:
        args.iters = DEFAULT_ITERS[args.task]
    if args.iters < 1:
        parser.error(f'--iters must be >= 1, got {args.iters}')
    for name in ('num_train', 'num_val', 'batch_size', 'retime',
                 'val_points', 'repeats'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, '
                         f'got {value}')
    if args.data is None:
        args.data = osp.join(ROOT, 'data',
                             f'long_range_{DATA[args.task]}')
    return args


def _load_previous(path, iters):
    """Records of an earlier invocation with the same iterations."""
    if not osp.exists(path):
        return []
    with open(path) as f:
        runs = json.load(f).get('runs', [])
    return [r for r in runs if r.get('iters') == iters]


def write_report(out, records, task, meta):
    """results.json, results.md and the plots; returns the table text."""
    lr.save_records(osp.join(out, 'results.json'), records, meta)
    if task == 'seg':
        table = report.format_markdown(records, report.SEG_COLUMNS, 'fcn')
    elif task == 'cls':
        table = report.format_markdown(records, report.CLS_COLUMNS, 'resnet')
    else:
        table = report.format_markdown(records, report.DET_COLUMNS,
                                       'faster-rcnn')
    with open(osp.join(out, 'results.md'), 'w') as f:
        f.write(table)
    if task == 'seg':
        report.plot_seg(records, osp.join(out, 'long_range'))
    elif task == 'cls':
        report.plot_cls(records, osp.join(out, 'long_range_cls'))
    else:
        report.plot_det(records, osp.join(out, 'long_range_det'))
    return table


def _progress(i, total, rec, task, elapsed):
    if task == 'seg':
        what = (f'mIoU {rec["mIoU"]:.1f}, cue acc. '
                f'{rec["cue_accuracy"]:.1f}%, swapped-cue acc. '
                f'{rec["swapped_cue_accuracy"]:.1f}%')
    elif task == 'cls':
        what = f'top-1 {rec["top1"]:.1f}%'
    else:
        what = f'bbox mAP {rec["bbox_mAP"]:.1f}'
    print(f'[long-range] run {i}/{total} {rec["model"]} seed {rec["seed"]}: '
          f'{what}, {rec["seconds_per_iter"]:.3f} s/iter, '
          f'{rec["peak_memory_mb"]:.0f} MB; {elapsed / 60:.1f} min so far',
          flush=True)


def retime(records, args, meta):
    """Replace each model's seconds per iteration by quiet measurements.

    Each model is timed ``--repeats`` times, round-robin over the models
    (a slow spell of the machine then touches every model alike); the
    record keeps every repeat (``seconds_per_iter_repeats``) and their
    median as ``seconds_per_iter``; the grid's own figure is kept as
    ``seconds_per_iter_grid``.
    """
    times = {model: [] for model in args.models}
    for repeat in range(args.repeats):
        for model in args.models:
            times[model].append(lr.time_iterations(
                model, args.retime, args.data,
                osp.join(args.out, 'runs', f'{model}_timing'), args.task,
                batch_size=args.batch_size))
            print(f'[long-range] {model}: {times[model][-1]:.3f} s per '
                  f'iteration (median of {args.retime}, repeat '
                  f'{repeat + 1}/{args.repeats}, measured alone)', flush=True)
    for rec in records:
        if rec['model'] in times:
            rec.setdefault('seconds_per_iter_grid', rec['seconds_per_iter'])
            rec['seconds_per_iter_repeats'] = times[rec['model']]
            rec['seconds_per_iter'] = float(np.median(times[rec['model']]))
    meta['retimed'] = dict(
        iterations=args.retime, repeats=args.repeats,
        statistic='median over repeats of the median of the iterations, '
        'data loading included')


def replot(args):
    """results.md and the plots again, from OUT/results.json."""
    path = osp.join(args.out, 'results.json')
    if not osp.exists(path):
        raise SystemExit(f'--replot: no {path} to redraw from')
    with open(path) as f:
        saved = json.load(f)
    if saved['meta'].get('task', 'seg') != args.task:
        raise SystemExit(f'--replot: {path} holds task '
                         f'{saved["meta"].get("task")!r}, not --task '
                         f'{args.task!r}')
    table = write_report(args.out, saved['runs'], args.task, saved['meta'])
    print(table)
    return saved['runs']


def main(argv=None):
    args = parse_args(argv)
    if args.replot:
        return replot(args)
    os.makedirs(args.out, exist_ok=True)
    if args.task == 'seg':
        data_meta = lr.ensure_seg_data(args.data, args.num_train,
                                       args.num_val)
        split = lr.load_split(args.data, 'val')
        pictures.paint_samples(lr.load_split(args.data, 'train', limit=4),
                             osp.join(args.out, 'samples.png'))
        run = lr.run_seg
        extra = dict(split=split, val_points=args.val_points)
    elif args.task == 'cls':
        data_meta = lr.ensure_cls_data(args.data, args.num_train,
                                       args.num_val)
        run = lr.run_cls
        extra = {}
    else:
        data_meta = lr.ensure_det_data(args.data, args.num_train,
                                       args.num_val)
        run = lr.run_det
        extra = {}
    num_train, num_val = lr.split_sizes(data_meta)
    meta = dict(task=args.task, iters=args.iters, seeds=args.seeds,
                data={k: data_meta[k] for k in ('size', 'margin', 'layout',
                                                'seed')},
                num_train=num_train, num_val=num_val,
                command='python projects/long_range/tools/long_range_benchmark.py '
                + ' '.join(argv if argv is not None else sys.argv[1:]))
    records = _load_previous(osp.join(args.out, 'results.json'), args.iters)
    done = {(r['model'], r['seed']) for r in records}
    grid = [(m, s) for s in args.seeds for m in args.models]
    start = time.perf_counter()
    for i, (model, seed) in enumerate(grid, 1):
        if (model, seed) in done:
            print(f'[long-range] run {i}/{len(grid)} {model} seed {seed}: '
                  'in results.json already, skipped', flush=True)
            continue
        work_dir = osp.join(args.out, 'runs', f'{model}_seed{seed}')
        rec, _ = run(model, seed, args.iters, args.data, work_dir,
                     batch_size=args.batch_size, **extra)
        records.append(rec)
        _progress(i, len(grid), rec, args.task, time.perf_counter() - start)
        write_report(args.out, records, args.task, meta)
    if args.retime:
        retime(records, args, meta)
    table = write_report(args.out, records, args.task, meta)
    print(table)
    print(f'[long-range] wrote {osp.join(args.out, "results.json")}, '
          'results.md and the plots')
    return records


if __name__ == '__main__':
    main()
