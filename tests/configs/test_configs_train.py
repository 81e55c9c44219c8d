"""Every shipped config builds and trains one iteration on synthetic data."""
import glob
import os.path as osp

import pytest
from helpers import LONG_RANGE, ROOT, read_scalars
from mmengine.config import Config

from mmattn.testing import (accept_synthetic_cifar, as_cli,
                            cls_smoke_options, det_smoke_options,
                            long_range_smoke_options,
                            multi_image_det_smoke_options, seg_smoke_options)

#: mmattn's configs and the long-range benchmark's (projects/long_range)
ALL_CONFIGS = sorted(
    p for pattern in (osp.join(ROOT, 'configs', '**', '*.py'),
                      osp.join(LONG_RANGE, 'configs', '**', '*.py'))
    for p in glob.glob(pattern, recursive=True) if '_base_' not in p)


def _long_range_task(path):
    """'seg', 'det' or 'cls' for a long-range benchmark config, else None."""
    if osp.commonpath([path, LONG_RANGE]) != LONG_RANGE:
        return None
    return osp.basename(osp.dirname(path))


def _alias_target(path):
    """The config a short-name config only renames, else None."""
    lines = [line for line in open(path).read().splitlines()
             if line.strip() and not line.lstrip().startswith('#')]
    if len(lines) == 1 and lines[0].startswith('_base_ = '):
        return osp.normpath(
            osp.join(osp.dirname(path), lines[0].split('=', 1)[1].strip()
                     .strip('\'"')))
    return None


ALIASES = [p for p in ALL_CONFIGS if _alias_target(p)]
CONFIGS = [p for p in ALL_CONFIGS if not _alias_target(p)]


def test_configs_exist():
    names = {osp.relpath(p, osp.join(ROOT, 'configs')) for p in ALL_CONFIGS}
    for required in [
            'spanet_r50_cityscapes.py',
            'spanet_faster-rcnn_r50_fpn_1x_coco.py',
            'spanet/spanet_r50-d8_4xb2-80k_cityscapes-512x1024.py',
            'spanet/spanet_r50-d8_4xb2-80k_cityscapes-769x769.py',
            'spanet/spanet_r101-d8_4xb2-80k_cityscapes-512x1024.py',
            'spanet/spanet_r101-d8_4xb2-80k_cityscapes-769x769.py',
            'spanet/faster-rcnn_r50-spanet_fpn_1x_coco.py',
    ] + [f'{b}_r50_cityscapes.py' for b in ('se', 'eca', 'cbam', 'spenet')
         ] + [f'{b}_faster-rcnn_r50_fpn_1x_coco.py'
              for b in ('se', 'eca', 'cbam', 'spenet')
         ] + [p for a in ('danet', 'ann', 'ccnet', 'gcnet', 'ocrnet',
                          'nonlocal')
              for p in (f'{a}_r50_cityscapes.py',
                        f'{a}/{a}_r50-d8_4xb2-80k_cityscapes-512x1024.py')
         ] + ['ocrnet/ocrnet_r101-d8_8xb2-80k_cityscapes-512x1024.py',
              'gcnet/faster-rcnn_r50_fpn-gc-neck_1x_coco.py',
              'gcnet/mask-rcnn_r50_fpn-gc-neck_1x_coco.py',
              'danet/faster-rcnn_r50_fpn-danet-neck_1x_coco.py']:
        assert required in names


@pytest.mark.parametrize(
    'path', ALIASES, ids=[osp.relpath(p, ROOT) for p in ALIASES])
def test_short_name_is_the_full_config(path):
    target = _alias_target(path)
    assert osp.exists(target)
    assert Config.fromfile(path).pretty_text == \
        Config.fromfile(target).pretty_text


@pytest.mark.parametrize(
    'path', CONFIGS, ids=[osp.relpath(p, ROOT) for p in CONFIGS])
def test_config_trains_one_iteration(path, cityscapes_root, coco_root,
                                     imagenet_root, cifar10_root, tmp_path):
    import contextlib
    import train
    cfg = Config.fromfile(path)
    assert 'mmattn' in cfg.custom_imports['imports']
    data = contextlib.nullcontext()
    task = _long_range_task(path)
    if task == 'cls':
        # the benchmark's iteration-based recipe: one iteration
        opts = long_range_smoke_options(imagenet_root, batch_size=2)
        opts['train_cfg.val_interval'] = 100
        expected = 1
    elif cfg.default_scope == 'mmpretrain':
        # one epoch of the whole synthetic training set: one iteration
        if 'cifar' in osp.basename(path):
            opts = cls_smoke_options(cifar10_root, batch_size=10)
            data = accept_synthetic_cifar(cifar10_root)
        else:
            opts = cls_smoke_options(imagenet_root, batch_size=2)
        expected = 1
    elif task == 'seg':
        # The benchmark's own pipeline (no crop) reads the fixture as it is.
        opts = long_range_smoke_options(cityscapes_root)
        opts['train_cfg.val_interval'] = 100
        expected = 1
    elif task == 'det':
        # Iteration-based like the benchmark: one iteration, not one epoch.
        opts = det_smoke_options(coco_root, size=(64, 64), batch_size=4)
        del opts['train_cfg.max_epochs']
        opts.update({'train_cfg.max_iters': 1, 'train_cfg.val_interval': 100,
                     'default_hooks.checkpoint.interval': 1})
        expected = 1
    elif any(step['type'] in ('Mosaic', 'CachedMosaic') for step in
             cfg.train_dataloader.dataset.get('pipeline', [])):
        # YOLOX, RTMDet: their mosaic and mix-up at a small size
        opts = multi_image_det_smoke_options(cfg, coco_root)
        opts['train_cfg.val_interval'] = 100
        expected = 1
    elif cfg.default_scope == 'mmseg':
        # UPerHead's 1x1 pyramid pooling, and the fuse norms of the split
        # attention and SK convs, normalise pooled vectors over the batch
        heads = cfg.model.decode_head
        heads = heads if isinstance(heads, list) else [heads]
        pooled_norms = any(h.type == 'UPerHead' for h in heads) or any(
            conv in str(cfg.model.backbone) for conv in (
                'SplitAttentionConv', 'SelectiveKernelConv'))
        batch = 2 if pooled_norms else 1
        opts = seg_smoke_options(cityscapes_root, size=(64, 128), iters=1,
                                 batch_size=batch, light_backbone=False)
        opts['train_cfg.val_interval'] = 100
        expected = 1
    else:
        opts = det_smoke_options(coco_root, size=(64, 64), batch_size=4)
        opts['train_cfg.val_interval'] = 100
        expected = 1
    # No checkpoint: one per config would write 0.4-0.7 GB each, ~17 GB a
    # run; writing and resuming are tested on seg and det configs by
    # tests/tools/test_train_resume.py and test_kill_resume.py.
    opts.update({'default_hooks.checkpoint.interval': 10**6,
                 'default_hooks.checkpoint.save_last': False})
    with data:
        train.main([path, '--work-dir', str(tmp_path)] + as_cli(opts))
    assert not glob.glob(osp.join(str(tmp_path), '*.pth'))
    records = [r for r in read_scalars(str(tmp_path)) if 'loss' in r]
    assert len(records) == expected
    if any(h['type'] == 'mmattn.SPEPenaltyHook'
           for h in cfg.get('custom_hooks', [])):
        assert records[0]['loss_spe'] > 0  # the auxiliary term is trained
