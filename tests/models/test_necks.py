"""AttentionNeck chains after FPN in stock mmdet and mmseg configs."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

import mmattn  # noqa: F401
from mmattn.blocks import SalientPositionAttention
from mmattn.models.necks import AttentionNeck


def _stock(package, relpath):
    pkg = __import__(package)
    return Config.fromfile(
        osp.join(osp.dirname(pkg.__file__), '.mim', 'configs', relpath))


def test_on_fpn_levels_of_faster_rcnn():
    cfg = _stock('mmdet', 'faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py')
    cfg.model.backbone.init_cfg = None
    cfg.model.backbone.depth = 18
    cfg.model.neck.in_channels = [64, 128, 256, 512]
    fpn = cfg.model.neck
    cfg.model.neck = [
        fpn,
        dict(type='mmattn.AttentionNeck',
             block=dict(type='mmattn.SalientPositionAttention', k=4),
             in_channels=256, levels=(2, 3, 4))
    ]
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model).eval()
    assert isinstance(model.neck, torch.nn.Sequential)
    neck = model.neck[1]
    assert isinstance(neck, AttentionNeck)
    assert sorted(neck.blocks) == ['2', '3', '4']
    assert all(isinstance(b, SalientPositionAttention)
               for b in neck.blocks.values())
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        fpn_only = model.neck[0](model.backbone(x))
        feats = model.extract_feat(x)
    assert [f.shape for f in feats] == [f.shape for f in fpn_only]
    for i in (0, 1):  # untouched levels pass through
        torch.testing.assert_close(feats[i], fpn_only[i])
    for i in (2, 3, 4):
        assert not torch.allclose(feats[i], fpn_only[i])


def test_under_mmseg_scope_with_per_level_channels():
    init_default_scope('mmseg')
    neck = MODELS.build(
        dict(type='mmattn.AttentionNeck',
             block=dict(type='mmattn.SalientPositionAttention', k=2),
             in_channels=[8, 16, 32]))
    feats = (torch.randn(2, 8, 16, 16), torch.randn(2, 16, 8, 8),
             torch.randn(2, 32, 4, 4))
    outs = neck(feats)
    assert [o.shape for o in outs] == [f.shape for f in feats]
    assert [neck.blocks[str(i)].in_channels for i in range(3)] == [8, 16, 32]


def test_an_mmcv_block_works_too():
    init_default_scope('mmdet')
    neck = MODELS.build(
        dict(type='mmattn.AttentionNeck',
             block=dict(type='ContextBlock', ratio=1. / 4), in_channels=16,
             levels=(0, )))
    out = neck((torch.randn(1, 16, 5, 7), ))
    assert out[0].shape == (1, 16, 5, 7)


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(block='SalientPositionAttention', in_channels=8, levels=(0, )),
     TypeError, 'block'),
    (dict(in_channels=8), ValueError, 'levels is required'),
    (dict(in_channels=[8, 8], levels=(0, 2)), ValueError, 'index past'),
    (dict(in_channels=8, levels=(1, 1)), ValueError, 'distinct'),
])
def test_bad_arguments(kwargs, error, match):
    kwargs.setdefault('block', dict(type='mmattn.SalientPositionAttention'))
    with pytest.raises(error, match=match):
        AttentionNeck(**kwargs)


def test_too_few_levels_at_forward():
    neck = AttentionNeck(dict(type='mmattn.SalientPositionAttention'),
                         in_channels=4, levels=(3, ))
    with pytest.raises(ValueError, match='feature levels'):
        neck((torch.randn(1, 4, 4, 4), ))
