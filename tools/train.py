"""Train a segmentation, detection or classification model from an
mmseg/mmdet/mmpretrain/mmattn config.

    python tools/train.py configs/spanet_r50_cityscapes.py [--work-dir DIR]
        [--resume [CHECKPOINT]] [--amp] [--cfg-options k=v ...]
        [--launcher none|pytorch|slurm] [--allow-nonfinite-loss]

The default scope (mmseg, mmdet or mmpretrain) comes from the config.
Distributed runs use torch.distributed through mmengine
(``tools/dist_train.sh``, torchrun, slurm); on machines without CUDA they run
on gloo. A NaN or infinite loss stops the run with an error naming the
iteration and the loss term (``mmattn.FiniteLossHook``, added unless
``--allow-nonfinite-loss``).

It runs with :mod:`mmattn.runtime` installed: checkpoints load under
``weights_only`` and are written atomically, ``--resume`` skips a truncated
checkpoint, and an unreadable or inconsistent data file raises
``mmattn.datasets.data_checks.BadDataError`` naming it (``bad_data = 'skip'``
in the config skips such samples with a warning instead).
"""
import argparse
import os

import mmattn  # noqa: F401  (registers mmattn's modules)
import mmattn.runtime
from mmattn.engine import (add_common_args, find_resumable_checkpoint,
                           finish_distributed, load_config)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model')
    add_common_args(parser)
    parser.add_argument(
        '--resume', nargs='?', const='auto', default=None,
        help='resume from CHECKPOINT, or from the latest checkpoint in the '
        'work dir when given without a value')
    parser.add_argument(
        '--allow-nonfinite-loss', action='store_true',
        help='do not add mmattn.FiniteLossHook (which stops the run at the '
        'first NaN or infinite loss, naming the iteration and the term)')
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def add_finite_loss_hook(cfg):
    """Add ``mmattn.FiniteLossHook`` to ``cfg.custom_hooks`` if absent."""
    hooks = list(cfg.get('custom_hooks', None) or [])
    if not any(str(h.get('type', '')).endswith('FiniteLossHook')
               for h in hooks):
        hooks.append(dict(type='mmattn.FiniteLossHook'))
    cfg.custom_hooks = hooks


def apply_bad_data_policy(cfg):
    """The config's ``bad_data`` ('error', the default, or 'skip') for this
    process and its data-loader workers."""
    from mmattn.datasets.data_checks import set_bad_data_policy
    if 'bad_data' in cfg:
        set_bad_data_policy(cfg.bad_data)


def main(argv=None):
    from mmengine.runner import Runner

    args = parse_args(argv)
    mmattn.runtime.install()  # idempotent; this tool's runs have it on
    cfg = load_config(args)
    if args.resume == 'auto':
        # the newest complete checkpoint of the work dir, or a fresh start
        cfg.load_from = find_resumable_checkpoint(cfg.work_dir)
        cfg.resume = cfg.load_from is not None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if not args.allow_nonfinite_loss:
        add_finite_loss_hook(cfg)
    apply_bad_data_policy(cfg)
    if 'runner_type' in cfg:
        from mmengine.registry import RUNNERS
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    runner.train()
    finish_distributed(runner)


if __name__ == '__main__':
    main()
