"""Evaluate a checkpoint with an mmseg/mmdet/mmattn config.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--show-dir DIR]
        [--out FILE] [--cfg-options k=v ...] [--launcher none|pytorch|slurm]

It runs with :mod:`mmattn.runtime` installed: checkpoints load under
``torch.load(weights_only=True)`` with mmattn's allow-list (a file carrying
any other pickled object is refused), and bad data files are named.
"""
import argparse
import os

import mmattn  # noqa: F401  (registers mmattn's modules)
import mmattn.runtime
from mmattn.engine import add_common_args, load_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    add_common_args(parser)
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--show-dir', help='directory where painted predictions are saved')
    parser.add_argument(
        '--out', help='dump the evaluator results to this pickle file')
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def enable_prediction_pictures(cfg, show_dir):
    """Make the visualisation hook of mmseg or mmdet paint predictions."""
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise ValueError(
            '--show-dir needs default_hooks.visualization in the config')
    hook['draw'] = True
    hook['interval'] = 1
    if hook.get('type') == 'DetVisualizationHook':
        hook['test_out_dir'] = os.path.abspath(show_dir)
    else:  # mmseg's SegVisualizationHook saves through the visualizer
        cfg.visualizer['save_dir'] = show_dir


def main(argv=None):
    from mmengine.runner import Runner

    args = parse_args(argv)
    mmattn.runtime.install()  # idempotent; this tool's runs have it on
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    if args.show_dir:
        enable_prediction_pictures(cfg, args.show_dir)
    if args.out:
        cfg.test_evaluator = [cfg.test_evaluator] if isinstance(
            cfg.test_evaluator, dict) else list(cfg.test_evaluator)
        cfg.test_evaluator.append(
            dict(type='DumpResults', out_file_path=args.out))
    runner = Runner.from_cfg(cfg)
    return runner.test()


if __name__ == '__main__':
    main()
