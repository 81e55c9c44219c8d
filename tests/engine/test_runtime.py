"""Without mmattn.runtime a host behaves like stock mmengine/mmcv; with it,
or with the registered types, it gets mmattn's guarantees (#23 item 3)."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

import mmattn.runtime
from mmattn.datasets.data_checks import BadDataError
from mmattn.testing import reset_mmengine_singletons, seg_smoke_options


def _truncated_jpeg(tmp_path):
    path = str(tmp_path / 'cut.jpg')
    ramp = np.linspace(0, 255, 64, dtype=np.uint8)
    cv2.imwrite(path, np.dstack([np.tile(ramp, (64, 1))] * 3))
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:int(len(data) * 0.8)])
    return path


def test_stock_loading_until_installed_and_after_uninstall(tmp_path,
                                                           runtime_off):
    from mmcv.transforms import LoadImageFromFile
    path = _truncated_jpeg(tmp_path)
    # stock mmcv: its own assertion, which does not say what is wrong
    with pytest.raises(AssertionError, match='failed to load image'):
        LoadImageFromFile()(dict(img_path=path))
    mmattn.runtime.install()
    assert mmattn.runtime.is_installed()
    with pytest.raises(BadDataError, match='is a truncated JPEG'):
        LoadImageFromFile()(dict(img_path=path))
    mmattn.runtime.uninstall()
    assert not mmattn.runtime.is_installed()
    with pytest.raises(AssertionError, match='failed to load image'):
        LoadImageFromFile()(dict(img_path=path))


def test_stock_checkpoint_loading_without_runtime(tmp_path, runtime_off):
    from mmengine.logging import HistoryBuffer
    from mmengine.runner.checkpoint import _load_checkpoint
    path = str(tmp_path / 'hub.pth')
    buffer = HistoryBuffer()
    buffer.update(1.0)
    buffer.update(2.0)
    torch.save(dict(buffer=buffer), path)
    # stock mmengine under torch's weights_only default refuses its own
    # HistoryBuffer; the runtime's allow-list admits it
    with pytest.raises(Exception, match='HistoryBuffer') as info:
        _load_checkpoint(path, map_location='cpu')
    assert type(info.value).__module__.startswith(('pickle', '_pickle'))
    mmattn.runtime.install()
    assert _load_checkpoint(path, map_location='cpu')['buffer'].mean() == 1.5


def test_atomic_checkpoint_hook_and_resume_helper_without_runtime(
        cityscapes_root, tmp_path, monkeypatch, runtime_off):
    """A stock mmseg config run by mmengine's Runner, with only the hook's
    type changed: its checkpoints go through atomic_write, and
    find_resumable_checkpoint skips a truncated one."""
    import mmattn.engine.checkpoint.atomic as ac
    from mmengine.config import Config
    from mmengine.runner import Runner
    from helpers import config_path
    written = []
    monkeypatch.setattr(ac, '_write_data',
                        lambda f, data: (written.append(len(data)),
                                         f.write(data)))
    cfg = Config.fromfile(config_path('spanet_r50_cityscapes.py'))
    mmattn.runtime.uninstall()  # the config's custom_imports imported it
    cfg.merge_from_dict(seg_smoke_options(cityscapes_root, size=(64, 128),
                                          iters=2, batch_size=1))
    cfg.merge_from_dict({'default_hooks.checkpoint.type':
                         'mmattn.AtomicCheckpointHook',
                         'default_hooks.checkpoint.interval': 1,
                         'train_cfg.val_interval': 100})
    cfg.work_dir = str(tmp_path)
    reset_mmengine_singletons()
    Runner.from_cfg(cfg).train()
    assert len(written) == 2 and min(written) > 1 << 20  # two checkpoints
    newest = osp.join(str(tmp_path), 'iter_2.pth')
    with open(newest, 'r+b') as f:
        f.truncate(osp.getsize(newest) // 2)
    assert ac.find_resumable_checkpoint(str(tmp_path)) == osp.join(
        str(tmp_path), 'iter_1.pth')


def test_atomic_checkpoint_hook_keeps_a_remote_or_given_backend():
    from mmattn.engine import ATOMIC_BACKEND, AtomicCheckpointHook
    assert AtomicCheckpointHook(interval=1).backend_args == dict(
        backend=ATOMIC_BACKEND)
    assert AtomicCheckpointHook(interval=1,
                                out_dir='s3://bucket/run').backend_args \
        is None
    given = dict(backend='local')
    assert AtomicCheckpointHook(interval=1,
                                backend_args=given).backend_args == given
