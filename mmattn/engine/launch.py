"""What ``tools/train.py`` and ``tools/test.py`` share: turning command-line
arguments into a ready mmengine config."""
import argparse
import os.path as osp

import torch
from mmengine.config import Config, DictAction

from .distributed import setup_cpu_distributed


def add_common_args(parser):
    """Arguments of both tools, named as in mmseg/mmdet's own tools."""
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='directory for logs and checkpoints')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, key=value (e.g. '
        'train_cfg.max_iters=2 model.decode_head.num_classes=19)')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
        help='job launcher (pytorch = torchrun)')
    parser.add_argument(
        '--amp', action='store_true',
        help='automatic mixed precision (fp16 with loss scaling on GPU, '
        'bfloat16 autocast on CPU)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)  # set by old launchers
    return parser


def load_config(args):
    """Read ``args.config`` and apply the common arguments to it.

    The default scope comes from the config (``mmseg`` or ``mmdet``), so one
    tool serves segmentation and detection configs.
    """
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if cfg.get('default_scope') is None:
        raise ValueError(
            f'{args.config} sets no default_scope: inherit from an mmseg or '
            "mmdet base config, or set default_scope='mmseg'/'mmdet'")
    if cfg.default_scope == 'mmpretrain':
        # what mmengine would import on first use of the scope, through the
        # torchvision stand-in where torchvision is not installed
        from .torchvision_standin import import_mmpretrain
        import_mmpretrain()
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        enable_amp(cfg)
    setup_cpu_distributed(cfg, args.launcher)
    return cfg


def enable_amp(cfg):
    """Switch the optimizer wrapper to mixed precision for this device."""
    wrapper = cfg.optim_wrapper
    if wrapper.get('type', 'OptimWrapper') not in ('OptimWrapper',
                                                   'AmpOptimWrapper'):
        raise ValueError(
            f'--amp cannot change optim_wrapper type {wrapper.type!r}; set '
            'the mixed-precision wrapper in the config instead')
    if torch.cuda.is_available():
        wrapper.type = 'AmpOptimWrapper'
        wrapper.setdefault('loss_scale', 'dynamic')
    else:
        wrapper.type = 'mmattn.CPUAutocastOptimWrapper'
        wrapper.pop('loss_scale', None)
