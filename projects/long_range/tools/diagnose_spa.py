"""Diagnose trained SPANet models of a long-range grid: per seed, where the
salient positions lie and what the channel affinity holds.

Reads the checkpoints a grid left in ``OUT/runs/<model>_seed<s>/`` (the
config the runner dumped there and ``iter_<iters>.pth``), runs the model on
the validation images and prints one row per seed: the run's mIoU, the
shares of the k selected positions on the bar, on shapes and on the
background, the affinity's normalised row entropy, the block's relative
update, and how well the affinity tells the bar's colour
(:mod:`long_range.diagnose`). ``--json`` writes every number, per image too.

Example::

    python projects/long_range/tools/diagnose_spa.py --out work_dirs/long_range \\
        --models spa --seeds 0 1 2 3 4 --json docs/long_range/spa_diagnosis.json
"""
import argparse
import glob
import json
import os.path as osp
import sys

PROJECT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ROOT = osp.dirname(osp.dirname(PROJECT))
for path in (ROOT, PROJECT):
    if path not in sys.path:
        sys.path.insert(0, path)

from long_range import diagnose  # noqa: E402
from long_range import recipe as lr  # noqa: E402

#: The block each model's diagnosis looks at.
MODULES = {'spa': 'decode_head.spa_block',
           'spa-plugin': 'backbone.inserted.layer2_1__0',
           'spa-plugin-zero': 'backbone.inserted.layer2_1__0'}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', required=True,
                        help='the grid\'s --out folder (holds runs/ and '
                        'results.json)')
    parser.add_argument('--models', nargs='+', default=['spa'],
                        choices=sorted(MODULES))
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--data', default=osp.join(
        ROOT, 'data', 'long_range_cityscapes'))
    parser.add_argument('--num-val', type=int,
                        help='validation images to look at (default all)')
    parser.add_argument('--json', help='write the numbers here')
    return parser.parse_args(argv)


def _results(out):
    path = osp.join(out, 'results.json')
    if not osp.exists(path):
        raise SystemExit(f'--out: no {path}')
    with open(path) as f:
        return {(r['model'], r['seed']): r for r in json.load(f)['runs']}


def _checkpoint(run_dir, iters):
    path = osp.join(run_dir, f'iter_{iters}.pth')
    configs = glob.glob(osp.join(run_dir, '*.py'))
    if not osp.exists(path) or len(configs) != 1:
        raise SystemExit(f'{run_dir}: needs iter_{iters}.pth and the one '
                         f'config the runner dumped; found '
                         f'{sorted(osp.basename(p) for p in glob.glob(osp.join(run_dir, "*")))}')  # noqa: E501
    return configs[0], path


def format_table(rows):
    lines = ['| model | seed | mIoU | selected on bar % | on shapes % | '
             'on background % | affinity entropy | block update | '
             'affinity decodes the cue % |',
             '|---|---:|---:|---:|---:|---:|---:|---:|---:|']
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['seed']} | {r['mIoU']:.1f} | "
            f"{r['on_bar']:.1f} | {r['on_shapes']:.1f} | "
            f"{r['on_background']:.1f} | {r['entropy']:.3f} | "
            f"{r['update']:.2f} | {r['affinity_cue_decoding']:.1f} |")
    return '\n'.join(lines) + '\n'


def main(argv=None):
    from mmseg.apis import init_model

    import mmattn  # noqa: F401  (registers the blocks and heads)
    args = parse_args(argv)
    results = _results(args.out)
    split = lr.load_split(args.data, 'val', limit=args.num_val)
    rows = []
    for model_name in args.models:
        for seed in args.seeds:
            if (model_name, seed) not in results:
                raise SystemExit(f'{args.out}/results.json has no run of '
                                 f'{model_name} seed {seed}')
            record = results[(model_name, seed)]
            config, checkpoint = _checkpoint(
                osp.join(args.out, 'runs', f'{model_name}_seed{seed}'),
                record['iters'])
            model = init_model(config, checkpoint, device='cpu')
            found = diagnose.spa_diagnosis(model, model.cfg, split,
                                           MODULES[model_name])
            rows.append(dict(model=model_name, seed=seed,
                             iters=record['iters'], mIoU=record['mIoU'],
                             **found))
            print(format_table(rows[-1:]).splitlines()[-1], flush=True)
    table = format_table(rows)
    print(table)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=1)
            f.write('\n')
    return rows


if __name__ == '__main__':
    main()
