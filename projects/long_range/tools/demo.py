"""The README's demo: SPANet learns the long-range rule that a local model cannot.

Writes the long-range benchmark's synthetic Cityscapes (if missing), trains
projects/long_range/configs/seg/spanet_r18-tiny_long-range-96x256.py on it, evaluates
mIoU, cue accuracy and the swapped-cue control, prints them beside the local
baseline's published figures at the same budget (docs/long_range/
demo_baseline.json: 600 iterations) and paints predictions.

    python projects/long_range/tools/demo.py [--iters 600] [--out work_dirs/demo] [--model spa]
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
from long_range import pictures  # noqa: E402

DEFAULT_DATA = osp.join(ROOT, 'data', 'long_range_cityscapes')
#: Published runs, read for the baseline's figures: the grid (300
#: iterations) and the local baseline at the demo's budget (600).
PUBLISHED = (osp.join(ROOT, 'docs', 'long_range', 'results.json'),
             osp.join(ROOT, 'docs', 'long_range', 'demo_baseline.json'))


def published_figures(model='fcn', iters=None, paths=PUBLISHED):
    """Mean mIoU and cue accuracy of ``model``'s published runs of
    ``iters`` iterations (any budget when None), or None when none."""
    runs = []
    for path in paths:
        if osp.exists(path):
            with open(path) as f:
                runs += [r for r in json.load(f)['runs']
                         if r['model'] == model
                         and iters in (None, r['iters'])]
    if not runs:
        return None
    return dict(
        seeds=len(runs),
        iters=runs[0]['iters'],
        mIoU=float(np.mean([r['mIoU'] for r in runs])),
        cue_accuracy=float(np.mean([r['cue_accuracy'] for r in runs])))


def paint_predictions(split, preds, swapped, preds_swapped, out_dir,
                      count=6):
    """One PNG per image (image | ground truth | prediction), the same for
    its swapped-cue version, and an overview of ``count`` images with their
    swapped-cue versions below them, column headers and the legend.

    Returns:
        str: Path of the overview picture.
    """
    from PIL import Image
    os.makedirs(out_dir, exist_ok=True)
    rows = []
    for i in range(min(count, len(preds))):
        picture = pictures.side_by_side(
            split['images'][i], pictures.colourise(split['labels'][i]),
            pictures.colourise(preds[i]))
        Image.fromarray(picture).save(osp.join(out_dir, f'val_{i:03d}.png'))
        flipped = pictures.side_by_side(
            swapped['images'][i], pictures.colourise(swapped['labels'][i]),
            pictures.colourise(preds_swapped[i]))
        Image.fromarray(flipped).save(
            osp.join(out_dir, f'val_{i:03d}_swapped_cue.png'))
        rows.append(pictures.stack([picture, flipped], gap=3))
    width = split['images'][0].shape[1]
    head = [pictures.header(['image', 'ground truth', 'prediction'],
                            [width] * 3),
            pictures.header(['(below each image: the same image with its bar '
                             'repainted, the swapped-cue control)'],
                            [rows[0].shape[1]])]
    legend = pictures.cue_legend(rows[0].shape[1], split['meta'])
    overview = osp.join(out_dir, 'overview.png')
    Image.fromarray(pictures.stack(head + rows + [legend], gap=8)).save(
        overview)
    return overview


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data', default=DEFAULT_DATA)
    parser.add_argument('--out', default=osp.join(ROOT, 'work_dirs', 'demo'))
    parser.add_argument('--iters', type=int, default=600)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--model', default='spa', choices=list(lr.SEG_MODELS))
    parser.add_argument('--num-train', type=int,
                        help='training images (default: the recipe\'s)')
    parser.add_argument('--num-val', type=int,
                        help='validation images (default: the recipe\'s)')
    args = parser.parse_args(argv)
    if args.iters < 1:
        parser.error(f'--iters must be >= 1, got {args.iters}')
    return args


def main(argv=None):
    args = parse_args(argv)
    lr.ensure_seg_data(args.data, args.num_train, args.num_val)
    split = lr.load_split(args.data, 'val')
    print(f'[demo] training {osp.relpath(lr.seg_config(args.model), ROOT)} '
          f'for {args.iters} iterations on 2 CPU threads', flush=True)
    start = time.time()
    rec, runner = lr.run_seg(args.model, args.seed, args.iters, args.data,
                             osp.join(args.out, 'train'), val_points=1,
                             split=split)
    print(f'[demo] trained and evaluated in {time.time() - start:.0f} s '
          f'({rec["seconds_per_iter"]:.2f} s per iteration)')
    cfg = lr.seg_run_config(args.model, args.data, args.out, args.iters,
                            args.seed)
    swapped = lr.swapped_split(split)
    preds = lr.predict(runner.model, cfg, split['images'])
    preds_swapped = lr.predict(runner.model, cfg, swapped['images'])
    overview = paint_predictions(split, preds, swapped, preds_swapped,
                                 osp.join(args.out, 'predictions'))
    print(f'[demo] {args.model}: mIoU {rec["mIoU"]:.2f}, cue accuracy '
          f'{rec["cue_accuracy"]:.1f} % (chance {100 / lr.NUM_CUES:.1f} %), '
          f'swapped-cue accuracy {rec["swapped_cue_accuracy"]:.1f} % '
          f'on {len(preds)} validation images')
    base = published_figures('fcn', args.iters)
    if base is not None:
        print(f'[demo] local baseline fcn at the same budget (published, '
              f'{base["seeds"]} seeds x {base["iters"]} iterations): mIoU '
              f'{base["mIoU"]:.2f}, cue accuracy {base["cue_accuracy"]:.1f} %')
    else:
        print(f'[demo] no published local baseline at {args.iters} '
              f'iterations; train it: python projects/long_range/tools/'
              f'long_range_benchmark.py --models fcn --iters {args.iters}')
    print(f'[demo] pictures (image | ground truth | prediction; every second '
          f'row with the cue bar repainted): {osp.relpath(overview)}')
    with open(osp.join(args.out, 'demo.json'), 'w') as f:
        json.dump({k: v for k, v in rec.items() if k != 'loss'}, f, indent=1)
    return rec


if __name__ == '__main__':
    main()
