"""Diagnose trained models of a long-range grid from their checkpoints.

Reads what a grid left in ``OUT/runs/<model>_seed<s>/`` (the config the
runner dumped there and ``iter_<iters>.pth``), runs the model on the
validation images and prints one row per run (:mod:`long_range.diagnose`):

* ``spa``: SPANet models. The run's mIoU; the shares of the k selected
  positions on the bar, on shapes and on the background; the affinity's
  normalised row entropy; the block's relative update; how well the
  affinity tells the bar's colour (nearest-centroid, chance 12.5 %); the
  colour the model gets worst, and the two colours whose mean affinities
  are closest.
* ``gates``: SPENet models. The mean (min, max) channel gate of each SPEM
  block, beside the value every gate starts from (the paper's init).

``--json`` writes every number (``spa``: per image too).

Examples::

    python projects/long_range/tools/diagnose.py spa \\
        --out work_dirs/long_range --seeds 0 1 2 3 4 \\
        --json docs/long_range/spa_diagnosis.json
    python projects/long_range/tools/diagnose.py gates \\
        --out work_dirs/long_range --models spenet --seeds 0 1 2 3 4
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

#: spa: the block each SPANet model's diagnosis looks at.
SPA_MODULES = {'spa': 'decode_head.spa_block',
               'spa-scaled': 'decode_head.spa_block',
               'spa-plugin': 'backbone.inserted.layer2_1__0',
               'spa-plugin-zero': 'backbone.inserted.layer2_1__0'}
#: gates: the models with SPEM blocks.
GATE_MODELS = ('spenet', )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('what', choices=('spa', 'gates'))
    parser.add_argument('--out', required=True,
                        help='the grid\'s --out folder (holds runs/ and '
                        'results.json)')
    parser.add_argument('--models', nargs='+',
                        help='spa: ' + ', '.join(SPA_MODULES) + ' (default '
                        'spa); gates: ' + ', '.join(GATE_MODELS))
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--data', default=osp.join(
        ROOT, 'data', 'long_range_cityscapes'))
    parser.add_argument('--num-val', type=int,
                        help='validation images to look at (default all)')
    parser.add_argument('--json', help='write the numbers here')
    args = parser.parse_args(argv)
    known = SPA_MODULES if args.what == 'spa' else GATE_MODELS
    args.models = args.models or [list(known)[0]]
    unknown = [m for m in args.models if m not in known]
    if unknown:
        parser.error(f'--models for {args.what}: unknown {unknown} (known: '
                     f'{", ".join(known)})')
    return args


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
        found = sorted(osp.basename(p)
                       for p in glob.glob(osp.join(run_dir, '*')))
        raise SystemExit(f'{run_dir}: needs iter_{iters}.pth and the one '
                         f'config the runner dumped; found {found}')
    return configs[0], path


def format_spa(rows):
    lines = ['| model | seed | mIoU | selected on bar % | on shapes % | '
             'on background % | affinity entropy | block update | '
             'affinity decodes the cue % | worst colour: cue acc. % | '
             'closest affinities: colours (distance) | largest energy | '
             'energy gap (median top-2) |',
             '|---|' + '---:|' * 12]
    for r in rows:
        worst = min(r['per_cue_accuracy'].items(), key=lambda kv: kv[1])
        a, b, distance = r['closest_cues']
        lines.append(
            f"| {r['model']} | {r['seed']} | {r['mIoU']:.1f} | "
            f"{r['on_bar']:.1f} | {r['on_shapes']:.1f} | "
            f"{r['on_background']:.1f} | {r['entropy']:.3f} | "
            f"{r['update']:.2f} | {r['affinity_cue_decoding']:.1f} | "
            f"{worst[0]}: {worst[1]:.1f} | {a}, {b} ({distance:.2f}) | "
            f"{r['energy_max']:.0f} | {r['energy_gap']:.1f} |")
    return '\n'.join(lines) + '\n'


def format_gates(rows, start):
    blocks = list(rows[0]['gates'])
    short = [b.rsplit('.', 1)[-1] for b in blocks]
    lines = ['| model | seed | mIoU | ' + ' | '.join(
        f'gate {s} mean (min-max)' for s in short) + ' |',
        '|---|---:|---:|' + '---:|' * len(blocks)]
    lines.append(f'| (init) | | | ' + ' | '.join(
        f'{start:.3f}' for _ in blocks) + ' |')
    for r in rows:
        lines.append(f"| {r['model']} | {r['seed']} | {r['mIoU']:.1f} | "
                     + ' | '.join(
                         f"{g['mean']:.3f} ({g['min']:.3f}-{g['max']:.3f})"
                         for g in r['gates'].values()) + ' |')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    import torch
    from mmseg.apis import init_model

    import mmattn  # noqa: F401  (registers the blocks and heads)
    from mmattn.blocks import SelfAdaptivePoolingAttention
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
            row = dict(model=model_name, seed=seed, iters=record['iters'],
                       mIoU=record['mIoU'])
            if args.what == 'spa':
                row.update(diagnose.spa_diagnosis(
                    model, model.cfg, split, SPA_MODULES[model_name]))
                line = format_spa([row]).splitlines()[-1]
            else:
                row['gates'] = diagnose.channel_gates(
                    model, model.cfg, split, SelfAdaptivePoolingAttention)
                line = str(row['gates'])
            rows.append(row)
            print(line, flush=True)
    if args.what == 'spa':
        table = format_spa(rows)
    else:
        start = float(torch.sigmoid(torch.tensor(-2.)) *
                      torch.sigmoid(torch.tensor(-1.)))
        table = format_gates(rows, start)
    print(table)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rounded(rows), f, indent=1)
            f.write('\n')
    return rows


def rounded(value, digits=4):
    """``value`` with every float rounded to ``digits`` decimals (the
    per-image records of 200 images stay readable and small)."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v, digits) for v in value]
    return value


if __name__ == '__main__':
    main()
