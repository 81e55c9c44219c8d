"""The README's demo: SPANet on the synthetic long-range Cityscapes benchmark.

Generates the dataset (if missing), trains SPANet (configs/spanet_r50_cityscapes.py,
shrunk to a ResNet-18 backbone and small images so it fits a few minutes of CPU),
evaluates it, prints the mIoU and writes painted predictions.

    python tools/demo.py [--iters 300] [--out work_dirs/demo]
"""
import argparse
import glob
import os
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools'))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data', default=osp.join(ROOT, 'data',
                                                   'synthetic_cityscapes'))
    parser.add_argument('--out', default=osp.join(ROOT, 'work_dirs', 'demo'))
    parser.add_argument('--iters', type=int, default=300)
    parser.add_argument('--size', default='64x128',
                        help='HxW of the synthetic images')
    parser.add_argument('--num-train', type=int, default=64)
    parser.add_argument('--num-val', type=int, default=16)
    parser.add_argument('--config',
                        default=osp.join(ROOT, 'configs',
                                         'spanet_r50_cityscapes.py'))
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import test as test_tool
    import train
    from mmattn.datasets import make_cityscapes, parse_size
    from mmattn.testing import (as_cli, reset_mmengine_singletons,
                                seg_smoke_options)

    size = parse_size(args.size)
    if not osp.exists(osp.join(args.data, 'leftImg8bit')):
        print(f'[demo] writing the synthetic Cityscapes dataset to {args.data}')
        make_cityscapes(args.data, num_train=args.num_train,
                        num_val=args.num_val, size=size, seed=0)
    opts = seg_smoke_options(args.data, size=size, iters=args.iters,
                             batch_size=4)
    opts.update({
        'default_hooks.logger.interval': 20,
        'log_processor.window_size': 20,
        'optim_wrapper.optimizer.lr': 0.02,
        'param_scheduler.0.end': args.iters,
    })
    start = time.time()
    print(f'[demo] training {osp.basename(args.config)} for {args.iters} '
          'iterations (ResNet-18 backbone, CPU)')
    train.main([args.config, '--work-dir', args.out] + as_cli(opts))
    reset_mmengine_singletons()  # the test runner gets its own visualizer
    show_dir = osp.join(args.out, 'predictions')
    metrics = test_tool.main([
        args.config, osp.join(args.out, f'iter_{args.iters}.pth'),
        '--work-dir', args.out, '--show-dir', show_dir
    ] + as_cli(opts))
    pictures = glob.glob(osp.join(args.out, '**', '*.png'), recursive=True)
    print(f'[demo] finished in {time.time() - start:.0f} s')
    print(f'[demo] mIoU on the synthetic val split: {metrics["mIoU"]:.2f}')
    print(f'[demo] {len(pictures)} prediction pictures under '
          f'{os.path.relpath(args.out)}')
    return metrics


if __name__ == '__main__':
    main()
