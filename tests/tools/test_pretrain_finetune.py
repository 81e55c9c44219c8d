"""Pretrain in mmpretrain, fine-tune in mmseg and mmdet: a backbone with
attention blocks trained by a classification config loads into the
segmentation and detection configs through ``init_cfg=dict(type=
'Pretrained', prefix='backbone.')``, every key carried over."""
import os.path as osp

import pytest
import torch
from helpers import ROOT
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmattn.testing import as_cli, cls_smoke_options

CLASSIFIER = 'configs/classification/resnet50-se_8xb32_in1k.py'
FINE_TUNE = [
    'configs/plugins/fcn_r50-d8-residual-se_in1k-pre_4xb2-80k_cityscapes-'
    '512x1024.py',
    'configs/plugins/faster-rcnn_r50-residual-se_in1k-pre_fpn_1x_coco.py',
]


@pytest.fixture(scope='module')
def pretrained(imagenet_root, tmp_path_factory):
    """The classifier's checkpoint after one training iteration, and its
    backbone state."""
    import train
    work_dir = str(tmp_path_factory.mktemp('pretrain'))
    train.main([osp.join(ROOT, CLASSIFIER), '--work-dir', work_dir] +
               as_cli(cls_smoke_options(imagenet_root, batch_size=2)))
    path = osp.join(work_dir, 'epoch_1.pth')
    from mmengine.runner import CheckpointLoader
    state = CheckpointLoader.load_checkpoint(path, 'cpu')['state_dict']
    backbone = {k[len('backbone.'):]: v for k, v in state.items()
                if k.startswith('backbone.')}
    return path, backbone


@pytest.mark.parametrize('config', FINE_TUNE,
                         ids=lambda p: osp.basename(p).split('_')[0])
def test_backbone_trained_in_mmpretrain_loads_every_key(pretrained, config):
    from mmengine.registry import MODELS
    path, trained = pretrained
    cfg = Config.fromfile(osp.join(ROOT, config))
    assert cfg.model.backbone.init_cfg.prefix == 'backbone.'
    cfg.model.backbone.init_cfg.checkpoint = path
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    model.init_weights()
    loaded = model.backbone.state_dict()
    # the same keys on both sides: nothing left behind, nothing new
    assert set(loaded) == set(trained)
    inserted = [k for k in trained if k.startswith('inserted.')]
    assert len(inserted) == 16 * 4  # SE's two fcs (weight, bias) x 16
    for key, value in trained.items():
        assert torch.equal(loaded[key], value), key
    # the trained SE weights differ from a fresh init: the check can fail
    fresh = MODELS.build(cfg.model.backbone.copy() | dict(init_cfg=None))
    fresh.init_weights()
    assert any(not torch.equal(fresh.state_dict()[k], trained[k])
               for k in inserted)


def test_tools_test_evaluates_the_classifier(pretrained, imagenet_root,
                                             tmp_path):
    """tools/test.py serves mmpretrain configs: top-1 of the checkpoint."""
    import test as test_tool
    metrics = test_tool.main(
        [osp.join(ROOT, CLASSIFIER), pretrained[0], '--work-dir',
         str(tmp_path)] +
        as_cli(cls_smoke_options(imagenet_root, batch_size=2)))
    assert 0 <= metrics['accuracy/top1'] <= 100
