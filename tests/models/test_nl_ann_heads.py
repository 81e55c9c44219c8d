"""mmattn.NLHead and mmattn.ANNHead against mmseg's heads: strict state-dict
loading, outputs and gradients; what mmseg cannot run; registry names."""
import pytest
import torch
from mmengine.registry import init_default_scope

import mmattn  # noqa: F401
from mmattn.blocks import NonLocal
from mmattn.models.decode_heads import ANNHead, NLHead
from helpers import assert_same_forward_backward, randomise


def _nl_inputs(n, h, w):
    return [torch.randn(n, 4, 2 * h, 2 * w), torch.randn(n, 8, h, w)]


@pytest.mark.parametrize('training', [False, True])
@pytest.mark.parametrize('mode,concat_input', [
    ('embedded_gaussian', True), ('embedded_gaussian', False),
    ('dot_product', True)])
def test_nl_head_matches_mmseg(mode, concat_input, training):
    from mmseg.models.decode_heads import NLHead as MMSegNLHead
    kwargs = dict(in_channels=8, in_index=1, channels=6, num_classes=3,
                  norm_cfg=dict(type='BN'), mode=mode,
                  concat_input=concat_input, dropout_ratio=0.1)
    torch.manual_seed(0)
    ref = randomise(MMSegNLHead(**kwargs)).train(training)
    ours = NLHead(**kwargs).train(training)
    ours.load_state_dict(ref.state_dict(), strict=True)
    assert isinstance(ours.nl_block, NonLocal)
    for n, h, w in [(2, 7, 9), (1, 1, 5), (1, 16, 16)]:
        assert_same_forward_backward(ref, ours, _nl_inputs(n, h, w))


def test_nl_head_state_dict_keys_and_init_are_mmsegs():
    from mmseg.models.decode_heads import NLHead as MMSegNLHead
    kwargs = dict(in_channels=8, channels=6, num_classes=3,
                  norm_cfg=dict(type='BN'))
    torch.manual_seed(0)
    state_ref = MMSegNLHead(**kwargs).state_dict()
    torch.manual_seed(0)
    state_ours = NLHead(**kwargs).state_dict()
    assert list(state_ours) == list(state_ref)
    assert any(k.startswith('nl_block.') for k in state_ours)
    for key, value in state_ref.items():
        assert torch.equal(state_ours[key], value), key


def test_nl_head_options_and_errors():
    head = NLHead(in_channels=8, channels=6, num_classes=3, reduction=3,
                  use_scale=False, mode='gaussian', sub_sample=True)
    block = head.nl_block
    assert (block.inter_channels, block.use_scale, block.mode,
            block.sub_sample) == (2, False, 'gaussian', True)
    assert head([torch.randn(1, 8, 6, 7)]).shape == (1, 3, 6, 7)
    with pytest.raises(ValueError, match='num_convs'):
        NLHead(in_channels=8, channels=6, num_classes=3, num_convs=1)
    with pytest.raises(ValueError, match='mode'):
        NLHead(in_channels=8, channels=6, num_classes=3, mode='cosine')


ANN_KWARGS = dict(in_channels=[6, 8], in_index=[0, 1], channels=8,
                  project_channels=4, num_classes=3,
                  norm_cfg=dict(type='BN'), dropout_ratio=0.1)


@pytest.mark.parametrize('training', [False, True])
@pytest.mark.parametrize('pool_scales', [(1, 3, 6, 8), (2, 3)])
def test_ann_head_matches_mmseg(pool_scales, training):
    from mmseg.models.decode_heads import ANNHead as MMSegANNHead
    kwargs = dict(ANN_KWARGS, key_pool_scales=pool_scales)
    torch.manual_seed(0)
    ref = randomise(MMSegANNHead(**kwargs)).train(training)
    ours = ANNHead(**kwargs).train(training)
    ours.load_state_dict(ref.state_dict(), strict=True)
    for n, hl, wl, h, w in [(2, 7, 9, 7, 9), (1, 1, 5, 1, 5),
                            (1, 16, 16, 16, 16), (2, 10, 6, 5, 3)]:
        inputs = [torch.randn(n, 6, hl, wl), torch.randn(n, 8, h, w)]
        assert_same_forward_backward(ref, ours, inputs)


def test_ann_head_state_dict_keys_and_init_are_mmsegs():
    from mmseg.models.decode_heads import ANNHead as MMSegANNHead
    torch.manual_seed(0)
    state_ref = MMSegANNHead(**ANN_KWARGS).state_dict()
    torch.manual_seed(0)
    state_ours = ANNHead(**ANN_KWARGS).state_dict()
    assert list(state_ours) == list(state_ref)
    for key, value in state_ref.items():
        assert torch.equal(state_ours[key], value), key


def test_ann_head_runs_what_mmseg_cannot():
    """Pooled queries (mmseg's forward fails on them) and dropout_ratio=0
    (mmseg then calls a None dropout) both train."""
    for kwargs in [dict(query_scales=(1, 2)), dict(dropout_ratio=0.0)]:
        head = ANNHead(**dict(ANN_KWARGS, **kwargs))
        out = head([torch.randn(2, 6, 5, 7), torch.randn(2, 8, 5, 7)])
        assert out.shape == (2, 3, 5, 7)
        out.square().mean().backward()
        for name, p in head.named_parameters():
            assert p.grad is not None, name


def test_ann_head_needs_two_levels():
    with pytest.raises(ValueError, match='in_channels'):
        ANNHead(**dict(ANN_KWARGS, in_channels=[4, 6, 8],
                       in_index=[0, 1, 2]))


def test_built_by_scoped_name_without_shadowing_mmseg():
    init_default_scope('mmseg')
    from mmseg.registry import MODELS
    from mmseg.models.decode_heads import ANNHead as MMSegANNHead
    from mmseg.models.decode_heads import NLHead as MMSegNLHead
    nl = dict(in_channels=4, channels=4, num_classes=2)
    assert type(MODELS.build(dict(type='mmattn.NLHead', **nl))) is NLHead
    assert type(MODELS.build(dict(type='NLHead', **nl))) is MMSegNLHead
    ann = dict(ANN_KWARGS)
    assert type(MODELS.build(dict(type='mmattn.ANNHead', **ann))) is ANNHead
    assert type(MODELS.build(dict(type='ANNHead', **ann))) is MMSegANNHead
