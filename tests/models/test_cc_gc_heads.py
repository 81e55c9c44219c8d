"""mmattn.CCHead / mmattn.GCHead against mmseg's heads, and the two blocks
as ResNet plugins against mmcv's."""
import pytest
import torch
from mmengine.registry import init_default_scope

import mmattn  # noqa: F401  (registers the mmattn.* names)
from mmattn.blocks import CrissCrossAttention, GlobalContext
from mmattn.models.decode_heads import CCHead, GCHead
from helpers import randomise

SIZES = [(2, 7, 9), (1, 1, 5), (1, 5, 1), (1, 16, 16)]
HEAD_ARGS = dict(in_channels=8, in_index=1, channels=16, num_classes=5,
                 norm_cfg=dict(type='BN'), dropout_ratio=0.0)


def _inputs(n, h, w):
    return [torch.randn(n, 4, 2 * h, 2 * w), torch.randn(n, 8, h, w)]


def _upstream_head(name, **kwargs):
    from mmseg.models.decode_heads import CCHead as MMSegCCHead
    from mmseg.models.decode_heads import GCHead as MMSegGCHead
    cls = dict(CCHead=MMSegCCHead, GCHead=MMSegGCHead)[name]
    return cls(**HEAD_ARGS, **kwargs)


HEADS = {
    'cc_r2': ('CCHead', CCHead, dict()),
    'cc_r1_noconcat': ('CCHead', CCHead,
                       dict(recurrence=1, concat_input=False)),
    'gc_att_add': ('GCHead', GCHead, dict()),
    'gc_avg_mul_add': ('GCHead', GCHead,
                       dict(ratio=1 / 2, pooling_type='avg',
                            fusion_types=('channel_mul', 'channel_add'))),
}


@pytest.mark.parametrize('size', SIZES)
@pytest.mark.parametrize('variant', list(HEADS))
def test_head_equals_mmseg_outputs_and_gradients(variant, size):
    name, cls, kwargs = HEADS[variant]
    torch.manual_seed(0)
    theirs = randomise(_upstream_head(name, **kwargs)).eval()
    ours = cls(**HEAD_ARGS, **kwargs).eval()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict(), strict=True)
    inputs = _inputs(*size)
    out, ref = ours(inputs), theirs(inputs)
    assert out.shape == (size[0], 5, size[1], size[2])
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)
    g = torch.randn_like(out)
    out.backward(g)
    ref.backward(g)
    theirs_params = dict(theirs.named_parameters())
    for key, p in ours.named_parameters():
        torch.testing.assert_close(p.grad, theirs_params[key].grad,
                                   rtol=1e-4, atol=1e-4, msg=key)


def test_heads_use_mmattn_blocks():
    cc = CCHead(recurrence=3, **HEAD_ARGS)
    assert type(cc.cca) is CrissCrossAttention and cc.recurrence == 3
    assert cc.cca.in_channels == 16
    gc = GCHead(ratio=1 / 8, pooling_type='avg', **HEAD_ARGS)
    assert type(gc.gc_block) is GlobalContext
    assert (gc.gc_block.planes, gc.gc_block.pooling_type) == (2, 'avg')
    assert (gc.ratio, gc.pooling_type, gc.fusion_types) == \
        (1 / 8, 'avg', ('channel_add', ))


def test_cchead_recurrence_applies_the_shared_block():
    torch.manual_seed(0)
    head = randomise(CCHead(recurrence=3, **HEAD_ARGS)).eval()
    calls = []
    head.cca.register_forward_hook(lambda *args: calls.append(1))
    head(_inputs(1, 4, 5))
    assert len(calls) == 3
    plain = randomise(CCHead(recurrence=0, **HEAD_ARGS)).eval()
    plain.cca.register_forward_hook(lambda *args: calls.append(1))
    plain(_inputs(1, 4, 5))
    assert len(calls) == 3


@pytest.mark.parametrize('cls, kwargs, error, match', [
    (CCHead, dict(recurrence=-1), ValueError, r'recurrence.*got -1'),
    (CCHead, dict(recurrence=1.5), ValueError, r'recurrence.*got 1\.5'),
    (CCHead, dict(num_convs=1), ValueError, r'num_convs=2.*got num_convs=1'),
    (GCHead, dict(num_convs=3), ValueError, r'num_convs=2.*got num_convs=3'),
    (GCHead, dict(ratio=0), ValueError, r'ratio.*got 0'),
    (GCHead, dict(pooling_type='max'), ValueError, r'pooling_type.*max'),
    (GCHead, dict(fusion_types='channel_add'), TypeError, r'fusion_types'),
])
def test_bad_head_arguments(cls, kwargs, error, match):
    with pytest.raises(error, match=match):
        cls(**HEAD_ARGS, **kwargs)


@pytest.mark.parametrize('name, cls', [('CCHead', CCHead),
                                       ('GCHead', GCHead)])
def test_built_by_scoped_name_only(name, cls):
    init_default_scope('mmseg')
    from mmseg.registry import MODELS
    cfg = dict(in_channels=8, channels=8, num_classes=2)
    assert type(MODELS.build(dict(type=f'mmattn.{name}', **cfg))) is cls
    # the unprefixed name still builds mmseg's head
    upstream = MODELS.build(dict(type=name, **cfg))
    assert type(upstream).__module__.startswith('mmseg.')


# ------------------------------------------------------------- as plugins
def _resnet(block_cfg):
    """A slim mmdet ResNet-50 (base_channels 8) with the block after conv3
    of stages 3 and 4 (64 and 128 channels)."""
    init_default_scope('mmdet')
    from mmdet.registry import MODELS
    model = MODELS.build(dict(
        type='ResNet', depth=50, base_channels=8, norm_cfg=dict(type='BN'),
        plugins=[dict(cfg=block_cfg, stages=(False, False, True, True),
                      position='after_conv3')]))
    model.eval()  # ResNet.train() returns None: do not chain it
    return model


@pytest.mark.parametrize('upstream, ours', [
    (dict(type='ContextBlock', ratio=1 / 16),
     dict(type='mmattn.GlobalContext', ratio=1 / 16)),
    (dict(type='CrissCrossAttention'),
     dict(type='mmattn.CrissCrossAttention')),
])
def test_plugin_loads_an_mmcv_plugin_checkpoint(upstream, ours):
    torch.manual_seed(0)
    theirs = _resnet(upstream)
    plugged = [getattr(m, n) for m in theirs.modules()
               for n in getattr(m, 'after_conv3_plugin_names', [])]
    assert len(plugged) == 9
    assert type(plugged[0]).__module__.startswith('mmcv.')
    for block in plugged:  # the backbone keeps its init: tame activations
        randomise(block)
    mine = _resnet(ours)
    assert list(mine.state_dict()) == list(theirs.state_dict())
    mine.load_state_dict(theirs.state_dict(), strict=True)
    last = mine.layer4[2]
    assert type(getattr(last, last.after_conv3_plugin_names[0])) in (
        CrissCrossAttention, GlobalContext)
    x = torch.randn(1, 3, 64, 96)
    for a, b in zip(mine(x), theirs(x)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_global_context_plugin_starts_as_identity_after_backbone_init():
    """mmdet's ResNet Kaiming-initialises every Conv2d; our block's
    init_weights runs after it and zeroes the last conv again."""
    torch.manual_seed(0)
    model = _resnet(dict(type='mmattn.GlobalContext', ratio=1 / 16))
    model.init_weights()
    blocks = [m for m in model.modules() if isinstance(m, GlobalContext)]
    assert len(blocks) == 6 + 3  # ResNet-50 stages 3 and 4
    assert model.layer3[0].context_block is blocks[0]
    for block in blocks:
        x = torch.randn(1, block.in_channels, 4, 4)
        assert torch.equal(block(x), x)
