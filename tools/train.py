"""Train a segmentation or detection model from an mmseg/mmdet/mmattn config.

    python tools/train.py configs/spanet_r50_cityscapes.py [--work-dir DIR]
        [--resume [CHECKPOINT]] [--amp] [--cfg-options k=v ...]
        [--launcher none|pytorch|slurm]

The default scope (mmseg or mmdet) comes from the config. Distributed runs use
torch.distributed through mmengine (``tools/dist_train.sh``, torchrun, slurm);
on machines without CUDA they run on gloo.
"""
import argparse
import os

import mmattn  # noqa: F401  (registers mmattn; safe checkpoint loading)
from mmattn.engine import add_common_args, finish_distributed, load_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model')
    add_common_args(parser)
    parser.add_argument(
        '--resume', nargs='?', const='auto', default=None,
        help='resume from CHECKPOINT, or from the latest checkpoint in the '
        'work dir when given without a value')
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv=None):
    from mmengine.runner import Runner

    args = parse_args(argv)
    cfg = load_config(args)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if 'runner_type' in cfg:
        from mmengine.registry import RUNNERS
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    runner.train()
    finish_distributed(runner)


if __name__ == '__main__':
    main()
