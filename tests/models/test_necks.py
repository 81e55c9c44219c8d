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


def _chained_neck(levels=(1, 2)):
    return AttentionNeck([
        dict(type='mmattn.SalientPositionAttention', k=2),
        dict(type='mmattn.SqueezeExcitation', reduction=2)
    ], in_channels=[4, 8, 8], levels=levels)


def test_list_of_blocks_runs_in_order_at_each_level():
    from mmattn.blocks import SqueezeExcitation
    neck = _chained_neck().eval()
    for i in ('1', '2'):
        chain = neck.blocks[i]
        assert isinstance(chain, torch.nn.Sequential)
        assert [type(b) for b in chain] == [SalientPositionAttention,
                                            SqueezeExcitation]
        assert chain[0].in_channels == 8
    assert neck.blocks['1'][0] is not neck.blocks['2'][0]  # own weights
    feats = (torch.randn(2, 4, 12, 12), torch.randn(2, 8, 6, 6),
             torch.randn(2, 8, 3, 5))
    with torch.no_grad():
        outs = neck(feats)
        torch.testing.assert_close(outs[0], feats[0])
        for i in (1, 2):
            chain = neck.blocks[str(i)]
            expected = chain[1](chain[0](feats[i]))
            torch.testing.assert_close(outs[i], expected)
            # the order matters: the other order gives something else
            assert not torch.allclose(chain[0](chain[1](feats[i])), expected)


def test_state_dict_keys_one_block_unchanged_list_indexed():
    single = AttentionNeck(dict(type='mmattn.SqueezeExcitation',
                                reduction=2), in_channels=4, levels=(0, ))
    assert all(k.startswith('blocks.0.') and not k.startswith('blocks.0.0.')
               for k in single.state_dict())
    keys = _chained_neck(levels=(2, )).state_dict()
    assert {k.split('.')[2] for k in keys} == {'0', '1'}
    # a list of one block is a chain of one, not the unwrapped block
    one = AttentionNeck([dict(type='mmattn.SqueezeExcitation', reduction=2)],
                        in_channels=4, levels=(0, ))
    assert all(k.startswith('blocks.0.0.') for k in one.state_dict())


@pytest.mark.parametrize('block', [[], [dict(type='mmattn.SqueezeExcitation'),
                                        'SqueezeExcitation'],
                                   [dict(reduction=2)]])
def test_bad_block_lists(block):
    with pytest.raises(TypeError, match='block must be'):
        AttentionNeck(block, in_channels=4, levels=(0, ))


def _shipped_detector(name):
    """A shipped COCO neck config with a ResNet-18 backbone and no
    pretrained weights (the neck is what is tested)."""
    cfg = Config.fromfile(osp.join(
        osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
        'configs', name))
    cfg.model.backbone.init_cfg = None
    cfg.model.backbone.depth = 18
    cfg.model.neck[0].in_channels = [64, 128, 256, 512]
    init_default_scope('mmdet')
    return MODELS.build(cfg.model).eval()


@pytest.mark.parametrize('name, levels, types', [
    ('gcnet/faster-rcnn_r50_fpn-gc-neck_1x_coco.py', (0, 1, 2, 3, 4),
     ['GlobalContext']),
    ('danet/faster-rcnn_r50_fpn-danet-neck_1x_coco.py', (2, 3, 4),
     ['PositionAttention', 'ChannelAttention']),
])
def test_shipped_neck_configs_start_as_the_plain_detector(name, levels,
                                                          types):
    model = _shipped_detector(name)
    neck = model.neck[1]
    assert neck.levels == levels
    for block in neck.blocks.values():
        chain = list(block) if isinstance(block, torch.nn.Sequential) \
            else [block]
        assert [type(b).__name__ for b in chain] == types
        assert all(type(b).__module__.startswith('mmattn.') for b in chain)
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        fpn_only = model.neck[0](model.backbone(x))
        feats = model.extract_feat(x)
        # the blocks start as the identity: the detector is the plain one
        for f, g in zip(feats, fpn_only):
            torch.testing.assert_close(f, g)
        # ... and they are live: perturbed weights change every chosen level
        for p in neck.parameters():
            p.add_(0.5 * torch.rand_like(p))
        feats = model.extract_feat(x)
    for i in range(5):
        assert torch.allclose(feats[i], fpn_only[i]) == (i not in levels)


# mmdet's path-aggregation necks: (config, backbone-like inputs, out width)
PAFPN_NECKS = {
    'PAFPN': (dict(type='PAFPN', in_channels=[8, 16, 32], out_channels=16,
                   num_outs=3), 16),
    'YOLOXPAFPN': (dict(type='YOLOXPAFPN', in_channels=[8, 16, 32],
                        out_channels=16, num_csp_blocks=1), 16),
    'CSPNeXtPAFPN': (dict(type='CSPNeXtPAFPN', in_channels=[8, 16, 32],
                          out_channels=16, num_csp_blocks=1), 16),
}


@pytest.mark.parametrize('name', list(PAFPN_NECKS))
def test_chains_after_path_aggregation_necks(name):
    """RetinaNet/YOLOX/RTMDet-style necks: a Sequential of the stock neck
    and AttentionNeck (a GC block on every output level) trains, and the
    stock neck's keys stay as they are (under ``neck.0``)."""
    cfg, width = PAFPN_NECKS[name]
    init_default_scope('mmdet')
    torch.manual_seed(0)
    stock = MODELS.build(cfg)
    neck = torch.nn.Sequential(stock, MODELS.build(dict(
        type='mmattn.AttentionNeck',
        block=dict(type='mmattn.GlobalContext', ratio=1 / 4),
        in_channels=width, levels=(0, 1, 2))))
    feats = (torch.randn(2, 8, 16, 16), torch.randn(2, 16, 8, 8),
             torch.randn(2, 32, 4, 4))
    outs = neck(feats)
    with torch.no_grad():
        assert [o.shape for o in outs] == [o.shape for o in stock(feats)]
    sum(o.square().mean() for o in outs).backward()
    for block in neck[1].blocks.values():
        assert all(p.grad is not None for p in block.parameters())
    assert {k[2:] for k in neck.state_dict() if k.startswith('0.')} == set(
        stock.state_dict())


@pytest.mark.parametrize('block', [
    dict(type='mmattn.GlobalContext', ratio=1 / 4),
    [dict(type='mmattn.PositionAttention'),
     dict(type='mmattn.SalientPositionAttention', k=4, zero_init=True)],
])
def test_identity_start_survives_the_necks_init_cfg(block):
    """An init_cfg of the neck reaches its blocks' convs and norms; their
    own init_weights (zero last conv, zero gamma, zero_init) come after."""
    neck = MODELS.build(dict(
        type='mmattn.AttentionNeck', block=block, in_channels=16,
        levels=(0, 1), init_cfg=[
            dict(type='Normal', layer='Conv2d', std=0.5),
            dict(type='Constant', layer='BatchNorm2d', val=1)]))
    neck.init_weights()
    neck.eval()
    feats = (torch.randn(2, 16, 8, 8), torch.randn(2, 16, 4, 4))
    with torch.no_grad():
        for a, b in zip(neck(feats), feats):
            assert torch.equal(a, b)
