"""Run in a fresh process by test_plugin_only_registers.py.

    python host_snapshot_probe.py CITYSCAPES_ROOT COCO_ROOT WORK_DIR

Imports the hosts, takes a snapshot (by identity) of every object that
``mmattn.runtime`` changes and of the process-wide state an import could
touch, then imports mmattn and builds and trains a stock mmseg and a stock
mmdet config with one mmattn module (only ``custom_imports=['mmattn']``
added), through mmengine's own Runner. Then imports ``mmattn.runtime`` and
uninstalls it. Prints one JSON object: the differences found at each step.
"""
import importlib
import json
import os
import os.path as osp
import sys

import torch
import mmengine.dataset  # noqa: F401
import mmengine.fileio.backends.registry_utils as backend_registry
import mmengine.hooks.checkpoint_hook  # noqa: F401
import mmengine.runner.runner  # noqa: F401
import mmcv.transforms  # noqa: F401
import mmseg.datasets  # noqa: F401
import mmseg.datasets.transforms  # noqa: F401
import mmdet.datasets  # noqa: F401
# what a config of each host imports anyway (mmdet.models imports mmpretrain
# and torch._dynamo itself): the snapshot shows what mmattn adds to that
import mmseg.models  # noqa: F401
import mmdet.models  # noqa: F401
from mmengine.runner.checkpoint import CheckpointLoader

#: Objects whose every attribute is compared: each owner of an attribute
#: mmattn.runtime changes, and the modules around them.
OWNERS = (
    'mmengine.logging:HistoryBuffer',
    'mmengine.fileio.backends:LocalBackend',
    'mmengine.hooks.checkpoint_hook:',
    'mmengine.hooks:CheckpointHook',
    'mmengine.runner.runner:',
    'mmengine.runner.runner:Runner',
    'mmengine.runner.checkpoint:',
    'mmengine.runner.checkpoint:CheckpointLoader',
    'mmengine.dataset:BaseDataset',
    'mmcv.transforms:LoadImageFromFile',
    'mmcv.transforms.loading:',
    'mmseg.datasets.transforms:LoadAnnotations',
    'mmseg.datasets:BaseSegDataset',
    'mmdet.datasets:CocoDataset',
    'torch.serialization:',
    'torch:',
    'builtins:',
)


def resolve(target):
    module, _, path = target.partition(':')
    obj = importlib.import_module(module)
    for part in filter(None, path.split('.')):
        obj = getattr(obj, part)
    return obj


def snapshot(with_environ=True):
    snap = {owner: dict(vars(resolve(owner))) for owner in OWNERS}
    snap['sys.meta_path'] = dict(enumerate(sys.meta_path))
    snap['sys.path_hooks'] = dict(enumerate(sys.path_hooks))
    snap['CheckpointLoader._schemes'] = dict(CheckpointLoader._schemes)
    snap['mmengine file backends'] = dict(backend_registry.backends)
    snap['torch safe globals'] = dict(
        enumerate(torch.serialization.get_safe_globals()))
    snap['torchvision stand-ins'] = {
        name: module for name, module in sys.modules.items()
        if name.split('.')[0] == 'torchvision'
        and not hasattr(module, '__file__')}
    if with_environ:
        snap['os.environ'] = dict(os.environ)
    return snap


def differences(before, after):
    """``['owner.name: changed|added|removed', ...]`` (by identity)."""
    found = []
    for owner in before:
        old, new = before[owner], after.get(owner, {})
        for name in sorted(set(old) | set(new), key=str):
            if name not in new:
                found.append(f'{owner}.{name}: removed')
            elif name not in old:
                found.append(f'{owner}.{name}: added')
            elif old[name] is not new[name] and old[name] != new[name]:
                found.append(f'{owner}.{name}: changed')
    return found


def train(path, options, work_dir):
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(options)
    cfg.work_dir = work_dir
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def main(cityscapes_root, coco_root, work_dir):
    report = {}
    before = snapshot()
    pretrain_before = sorted(m for m in sys.modules
                             if m.split('.')[0] == 'mmpretrain')
    import mmattn  # noqa: F401
    report['import'] = differences(before, snapshot())
    report['mmpretrain modules imported by mmattn'] = sorted(
        set(m for m in sys.modules if m.split('.')[0] == 'mmpretrain')
        - set(pretrain_before))

    from mmattn.testing import det_smoke_options, seg_smoke_options
    os.makedirs(work_dir, exist_ok=True)
    plugin = ("plugins=[dict(cfg=dict(type='mmattn.SqueezeExcitation', "
              "reduction=16), stages=(True, True, True, True), "
              "position='after_conv3')]")
    configs = {
        'seg': ("mmseg::fcn/fcn_r50-d8_4xb2-40k_cityscapes-512x1024.py",
                seg_smoke_options(cityscapes_root, size=(64, 128), iters=2,
                                  batch_size=1, light_backbone=False)),
        # the synthetic COCO training set has 4 images: 2 iterations
        'det': ("mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py",
                det_smoke_options(coco_root, size=(64, 64), batch_size=2)),
    }
    iterations = {}
    for task, (base, options) in configs.items():
        path = osp.join(work_dir, f'{task}_config.py')
        with open(path, 'w') as f:
            f.write(f"_base_ = '{base}'\n"
                    "custom_imports = dict(imports=['mmattn'], "
                    "allow_failed_imports=False)\n"
                    f"model = dict(backbone=dict({plugin}))\n")
        runner = train(path, options, osp.join(work_dir, task))
        blocks = [type(m).__name__ for m in runner.model.modules()
                  if type(m).__module__.startswith('mmattn.')]
        iterations[task] = dict(iter=runner.iter, mmattn_blocks=len(blocks),
                                block=blocks[0] if blocks else None)
    report['trained'] = iterations
    # mmengine's Runner itself sets environment variables (threads)
    without_environ = {k: v for k, v in before.items() if k != 'os.environ'}
    report['train'] = differences(without_environ, snapshot(False))

    after_training = snapshot()
    import mmattn.runtime
    report['runtime.install'] = differences(after_training, snapshot())
    report['runtime.PATCHED'] = list(mmattn.runtime.PATCHED)
    mmattn.runtime.uninstall()
    report['runtime.uninstall'] = differences(after_training, snapshot())
    mmattn.runtime.install()
    report['runtime.reinstall'] = differences(after_training, snapshot())
    print(json.dumps(report))


if __name__ == '__main__':
    main(*sys.argv[1:4])
