"""tools/train.py end to end: smoke runs, resume under weights_only=True."""
import os.path as osp

import pytest
from helpers import config_path, read_scalars

from mmattn.testing import (as_cli, det_smoke_options,
                            reset_mmengine_singletons, seg_smoke_options)

SPANET = config_path('spanet_r50_cityscapes.py')



def _train(argv):
    import train
    reset_mmengine_singletons()  # each run as if in its own process
    train.main(argv)


def _losses(work_dir):
    return {r['iter']: r['loss'] for r in read_scalars(work_dir)
            if 'loss' in r}


def _deterministic(opts):
    # Dropout draws from torch's RNG, which a checkpoint does not carry; data
    # augmentation re-runs on resume (mmengine replays the loader), so it may
    # stay.
    opts = dict(opts)
    opts['model.decode_head.dropout_ratio'] = 0.0
    opts['model.auxiliary_head.dropout_ratio'] = 0.0
    opts['randomness.seed'] = 0
    return opts


def test_resume_reproduces_uninterrupted_losses(cityscapes_root, tmp_path):
    base = _deterministic(seg_smoke_options(cityscapes_root, size=(64, 128),
                                            iters=4))
    base['train_cfg.val_interval'] = 100  # no validation in this test
    full_dir = str(tmp_path / 'full')
    _train([SPANET, '--work-dir', full_dir] + as_cli(base))

    part_dir = str(tmp_path / 'part')
    first = dict(base, **{'train_cfg.max_iters': 2,
                          'default_hooks.checkpoint.interval': 2})
    _train([SPANET, '--work-dir', part_dir] + as_cli(first))
    assert osp.exists(osp.join(part_dir, 'iter_2.pth'))
    _train([SPANET, '--work-dir', part_dir, '--resume'] + as_cli(base))

    full, resumed = _losses(full_dir), _losses(part_dir)
    assert sorted(full) == [1, 2, 3, 4]
    for it in (3, 4):
        assert resumed[it] == pytest.approx(full[it], rel=1e-5, abs=1e-6)
    # and the resumed run really continued (iteration 3 is not iteration 1)
    assert full[3] != pytest.approx(full[1], rel=1e-6)


def test_seg_smoke_train_and_evaluate(cityscapes_root, tmp_path, capsys):
    work_dir = str(tmp_path / 'seg')
    _train([SPANET, '--work-dir', work_dir] +
           as_cli(seg_smoke_options(cityscapes_root, size=(64, 128), iters=2)))
    records = read_scalars(work_dir)
    assert [r['iter'] for r in records if 'loss' in r] == [1, 2]
    assert any('mIoU' in r for r in records)

    import test as test_tool
    reset_mmengine_singletons()
    show_dir = str(tmp_path / 'show')
    metrics = test_tool.main([
        SPANET, osp.join(work_dir, 'iter_2.pth'), '--work-dir', work_dir,
        '--show-dir', show_dir
    ] + as_cli(seg_smoke_options(cityscapes_root, size=(64, 128))))
    assert 0.0 <= metrics['mIoU'] <= 100.0
    import glob
    assert glob.glob(osp.join(show_dir, '**', '*.png'), recursive=True)


def test_det_smoke_train_and_evaluate(coco_root, tmp_path):
    work_dir = str(tmp_path / 'det')
    cfg = config_path('spanet_faster-rcnn_r50_fpn_1x_coco.py')
    _train([cfg, '--work-dir', work_dir] + as_cli(det_smoke_options(coco_root)))
    records = read_scalars(work_dir)
    assert len([r for r in records if 'loss' in r]) == 2
    assert any('coco/bbox_mAP' in r for r in records)


def test_amp_flag_trains_with_cpu_autocast(cityscapes_root, tmp_path):
    import torch
    work_dir = str(tmp_path / 'amp')
    opts = seg_smoke_options(cityscapes_root, size=(64, 128), iters=1,
                             batch_size=1)
    opts['train_cfg.val_interval'] = 100
    _train([SPANET, '--work-dir', work_dir, '--amp'] + as_cli(opts))
    dumped = open(osp.join(work_dir, 'spanet_r50_cityscapes.py')).read()
    expected = ('AmpOptimWrapper' if torch.cuda.is_available() else
                'mmattn.CPUAutocastOptimWrapper')
    assert expected in dumped
    losses = _losses(work_dir)
    assert list(losses) == [1] and losses[1] == losses[1]  # ran, not NaN


def test_train_tool_rejects_a_config_without_scope(tmp_path):
    cfg = tmp_path / 'noscope.py'
    cfg.write_text('model = dict(type="EncoderDecoder")\n')
    with pytest.raises(ValueError, match='default_scope'):
        _train([str(cfg), '--work-dir', str(tmp_path)])
