"""The README's demo: SPANet on the synthetic long-range Cityscapes benchmark.

Generates the dataset (if missing), trains SPANet (configs/spanet_r50_cityscapes.py,
shrunk to a ResNet-18 backbone and 64x128 images so it fits a few minutes of
CPU), evaluates it, prints the mIoU and writes painted predictions.

    python tools/demo.py [--iters 600] [--out work_dirs/demo]
"""
import argparse
import glob
import os
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools'))
DEFAULT_DATA = osp.join(ROOT, 'data', 'synthetic_cityscapes')
SPANET = osp.join(ROOT, 'configs', 'spanet_r50_cityscapes.py')


def ensure_dataset(data_root, size, num_train=64, num_val=16):
    """Write the synthetic Cityscapes dataset unless it is already there."""
    from mmattn.datasets import make_cityscapes
    if not osp.exists(osp.join(data_root, 'leftImg8bit')):
        print(f'[demo] writing the synthetic Cityscapes dataset to {data_root}')
        make_cityscapes(data_root, num_train=num_train, num_val=num_val,
                        size=size, seed=0)


def train_and_evaluate(config, data_root, work_dir, size=(64, 128),
                       iters=600, batch_size=8, lr=0.05, seed=0,
                       show_dir=None):
    """Train ``config`` on the synthetic data with tools/train.py, then
    evaluate the last checkpoint with tools/test.py; return the metrics.

    The schedule is the config's own (SGD, poly decay) with ``lr`` and
    ``iters``; the model is shrunk by :func:`seg_smoke_options` (ResNet-18).
    """
    import test as test_tool
    import train

    from mmattn.testing import (as_cli, reset_mmengine_singletons,
                                seg_smoke_options)
    opts = seg_smoke_options(data_root, size=size, iters=iters,
                             batch_size=batch_size)
    opts.update({
        'default_hooks.logger.interval': 50,
        'log_processor.window_size': 50,
        'optim_wrapper.optimizer.lr': lr,
        'param_scheduler.0.end': iters,
        'randomness.seed': seed,
    })
    reset_mmengine_singletons()
    train.main([config, '--work-dir', work_dir] + as_cli(opts))
    reset_mmengine_singletons()  # the test runner gets its own visualizer
    argv = [config, osp.join(work_dir, f'iter_{iters}.pth'), '--work-dir',
            work_dir]
    if show_dir:
        argv += ['--show-dir', show_dir]
    return test_tool.main(argv + as_cli(opts))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data', default=DEFAULT_DATA)
    parser.add_argument('--out', default=osp.join(ROOT, 'work_dirs', 'demo'))
    parser.add_argument('--iters', type=int, default=600)
    parser.add_argument('--lr', type=float, default=0.05)
    parser.add_argument('--config', default=SPANET)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    size = (64, 128)
    ensure_dataset(args.data, size)
    start = time.time()
    print(f'[demo] training {osp.basename(args.config)} for {args.iters} '
          'iterations (ResNet-18 backbone, CPU)')
    show_dir = osp.join(args.out, 'predictions')
    metrics = train_and_evaluate(args.config, args.data, args.out, size,
                                 args.iters, lr=args.lr, show_dir=show_dir)
    pictures = glob.glob(osp.join(show_dir, '**', '*.png'), recursive=True)
    print(f'[demo] finished in {time.time() - start:.0f} s')
    print(f'[demo] mIoU on the synthetic val split: {metrics["mIoU"]:.2f}')
    print(f'[demo] {len(pictures)} prediction pictures (left: ground truth, '
          f'right: prediction) under {os.path.relpath(show_dir)}')
    return metrics


if __name__ == '__main__':
    main()
