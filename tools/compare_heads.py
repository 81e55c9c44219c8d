"""Does attention learn the long-range rule? SPAHead against FCNHead.

Trains SPANet (configs/spanet_r50_cityscapes.py) and mmseg's FCN
(fcn_r50-d8_4xb2-80k_cityscapes-512x1024.py) with the same shrunk backbone
(ResNet-18-D8), heads of the same width, data, iterations, learning rate and
seed on the synthetic long-range Cityscapes benchmark, then prints both mIoUs.

    python tools/compare_heads.py [--iters 1000] [--lr 0.05] [--json out.json]
"""
import argparse
import json
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools'))


def fcn_config():
    import mmseg
    return osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs', 'fcn',
                    'fcn_r50-d8_4xb2-80k_cityscapes-512x1024.py')


def main(argv=None):
    from demo import DEFAULT_DATA, SPANET, ensure_dataset, train_and_evaluate
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data', default=DEFAULT_DATA)
    parser.add_argument('--out', default=osp.join(ROOT, 'work_dirs',
                                                  'compare_heads'))
    parser.add_argument('--iters', type=int, default=1000)
    parser.add_argument('--lr', type=float, default=0.05)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--json')
    args = parser.parse_args(argv)
    size = (64, 128)
    ensure_dataset(args.data, size)
    results = {}
    for name, config in (('SPAHead', SPANET), ('FCNHead', fcn_config())):
        metrics = train_and_evaluate(config, args.data,
                                     osp.join(args.out, name), size,
                                     args.iters, lr=args.lr, seed=args.seed)
        results[name] = {k: float(metrics[k]) for k in ('mIoU', 'mAcc',
                                                          'aAcc')}
    print(f'\nsynthetic long-range Cityscapes, 64x128, ResNet-18-D8, '
          f'{args.iters} iterations, lr {args.lr}, seed {args.seed}')
    print('| head | mIoU | mAcc | aAcc |\n|---|---:|---:|---:|')
    for name, m in results.items():
        print(f'| {name} | {m["mIoU"]:.2f} | {m["mAcc"]:.2f} | '
              f'{m["aAcc"]:.2f} |')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(args=vars(args), results=results), f, indent=1)
    return results


if __name__ == '__main__':
    main()
