"""AFNB and APNB against mmseg's ANN blocks; the attention with a pooled
query against its formula; autocast; errors."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_plugin_layer
from mmseg.models.decode_heads.ann_head import AFNB, APNB, PPMConcat

import mmattn  # noqa: F401  (registers mmattn.AsymmetricPyramidNonLocal)
from mmattn.blocks import (AsymmetricFusionNonLocal, AsymmetricNonLocal,
                           AsymmetricPyramidNonLocal, pyramid_sample)
from helpers import assert_same_forward_backward, randomise

BN = dict(type='BN')
RELU = dict(type='ReLU')


def _afnb_pair(query_scales=(1, ), pool_scales=(1, 3, 6, 8), norm=BN):
    layers = dict(conv_cfg=None, norm_cfg=norm, act_cfg=RELU)
    ref = randomise(AFNB(low_in_channels=6, high_in_channels=8, channels=4,
                         out_channels=8, query_scales=query_scales,
                         key_pool_scales=pool_scales, **layers))
    ours = AsymmetricFusionNonLocal(6, 8, out_channels=8, hidden_channels=4,
                                    query_scales=query_scales,
                                    key_pool_scales=pool_scales, **layers)
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ref, ours


def _apnb_pair(query_scales=(1, ), pool_scales=(1, 3, 6, 8), norm=BN):
    layers = dict(conv_cfg=None, norm_cfg=norm, act_cfg=RELU)
    ref = randomise(APNB(in_channels=8, channels=4, out_channels=8,
                         query_scales=query_scales,
                         key_pool_scales=pool_scales, **layers))
    ours = AsymmetricPyramidNonLocal(8, hidden_channels=4,
                                     query_scales=query_scales,
                                     key_pool_scales=pool_scales, **layers)
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ref, ours


# (N, low H, low W, high H, high W); the two maps of AFNB may differ in size
SIZES = [(2, 7, 9, 7, 9), (1, 1, 5, 1, 5), (1, 16, 16, 16, 16),
         (2, 10, 6, 5, 3)]
VARIANTS = {
    'default': {},
    'two_stages_no_norm': dict(query_scales=(1, 1), norm=None),
    'pools_2_4': dict(pool_scales=(2, 4)),
}


@pytest.mark.parametrize('training', [False, True])
@pytest.mark.parametrize('variant', list(VARIANTS))
def test_afnb_matches_mmseg(variant, training):
    torch.manual_seed(0)
    ref, ours = _afnb_pair(**VARIANTS[variant])
    ref.train(training)
    ours.train(training)
    for n, hl, wl, h, w in SIZES:
        assert_same_forward_backward(
            ref, ours, torch.randn(n, 6, hl, wl), torch.randn(n, 8, h, w))


@pytest.mark.reference(blocks=[AsymmetricPyramidNonLocal])
@pytest.mark.parametrize('training', [False, True])
@pytest.mark.parametrize('variant', list(VARIANTS))
def test_apnb_matches_mmseg(variant, training):
    torch.manual_seed(1)
    ref, ours = _apnb_pair(**VARIANTS[variant])
    ref.train(training)
    ours.train(training)
    for n, _, _, h, w in SIZES:
        assert_same_forward_backward(ref, ours, torch.randn(n, 8, h, w))


def test_same_keys_and_init_as_mmseg():
    for build_ref, build_ours in [
        (lambda: AFNB(6, 8, 4, 8, (1, ), (1, 3, 6, 8), None, BN, RELU),
         lambda: AsymmetricFusionNonLocal(6, 8, hidden_channels=4)),
        (lambda: APNB(8, 4, 8, (1, ), (1, 3, 6, 8), None, BN, RELU),
         lambda: AsymmetricPyramidNonLocal(8, hidden_channels=4)),
    ]:
        torch.manual_seed(0)
        state_ref = build_ref().state_dict()
        torch.manual_seed(0)
        state_ours = build_ours().state_dict()
        assert list(state_ours) == list(state_ref)
        for key, value in state_ref.items():
            assert torch.equal(state_ours[key], value), key


def test_out_projection_starts_at_zero():
    block = AsymmetricNonLocal(8, hidden_channels=4)
    assert torch.all(block(torch.randn(2, 8, 5, 7)) == 0)


def test_shared_projection_runs_once_in_eval_twice_in_training():
    """APNB projects its input once for keys and queries at inference; in
    training twice, as mmseg, for the norm's running statistics."""
    block = AsymmetricPyramidNonLocal(8, hidden_channels=4)
    stage = block.stages[0]
    assert stage.query_project is stage.key_project
    calls = []
    stage.key_project.register_forward_hook(lambda *args: calls.append(1))
    block.eval()(torch.randn(2, 8, 6, 6))
    assert len(calls) == 1
    block.train()(torch.randn(2, 8, 6, 6))
    assert len(calls) == 3


def test_apnb_training_updates_running_statistics_as_mmseg():
    torch.manual_seed(2)
    ref, ours = _apnb_pair()
    ref.train()
    ours.train()
    for _ in range(3):
        x = torch.randn(2, 8, 7, 9)
        ref(x)
        ours(x)
    ref_state = ref.state_dict()
    for key, value in ours.state_dict().items():
        torch.testing.assert_close(value, ref_state[key], msg=key)


@pytest.mark.parametrize('hw', [(1, 5), (6, 6), (9, 4), (3, 10)])
def test_pyramid_sample_is_ppm_concat(hw):
    x = torch.randn(2, 3, *hw)
    torch.testing.assert_close(pyramid_sample(x, (1, 3, 6, 8)),
                               PPMConcat((1, 3, 6, 8))(x), rtol=1e-5,
                               atol=1e-6)


def reference_attention(stage, query_feats, key_feats):
    """A stage spelled out: mmseg's order (values projected at every
    position, then pooled), materialised softmax, and for query_scale > 1
    the ceil-mode max-pool and the bilinear upsampling back."""
    s = stage.query_scale
    query = stage.query_project(query_feats)
    if s > 1:
        query = F.max_pool2d(query, s, ceil_mode=True)
    pools = [nn.AdaptiveAvgPool2d(p) for p in stage.key_pool_scales]
    key = torch.cat([p(stage.key_project(key_feats)).flatten(2)
                     for p in pools], 2)
    value = torch.cat([p(stage.value_project(key_feats)).flatten(2)
                       for p in pools], 2)
    logits = query.flatten(2).transpose(1, 2) @ key
    attention = (logits * stage.hidden_channels**-0.5).softmax(-1)
    context = (attention @ value.transpose(1, 2)).transpose(1, 2)
    context = context.reshape(*context.shape[:2], *query.shape[2:])
    if s > 1:
        context = F.interpolate(context, size=query_feats.shape[2:],
                                mode='bilinear', align_corners=False)
    return stage.out_project(context)


@pytest.mark.parametrize('query_scale', [1, 2, 3])
@pytest.mark.parametrize('hw', [(7, 9), (1, 5), (2, 2), (12, 8)])
def test_stage_matches_its_formula(query_scale, hw):
    """mmseg cannot run query_scale > 1 (its forward reshapes the pooled
    context to the full size and fails), so the pooled-query path is checked
    against the formula."""
    torch.manual_seed(2)
    stage = randomise(AsymmetricNonLocal(
        8, key_in_channels=6, hidden_channels=4, out_channels=5,
        query_scale=query_scale)).eval()
    query_feats = torch.randn(2, 8, *hw)
    key_feats = torch.randn(2, 6, 5, 4)
    out = stage(query_feats, key_feats)
    assert out.shape == (2, 5, *hw)
    torch.testing.assert_close(
        out, reference_attention(stage, query_feats, key_feats), rtol=1e-4,
        atol=1e-4)


def test_pooled_query_trains_in_both_blocks():
    afnb = AsymmetricFusionNonLocal(6, 8, hidden_channels=4,
                                    query_scales=(1, 2))
    apnb = AsymmetricPyramidNonLocal(8, hidden_channels=4,
                                     query_scales=(1, 3))
    out = apnb(afnb(torch.randn(2, 6, 4, 6), torch.randn(2, 8, 7, 5)))
    assert out.shape == (2, 8, 7, 5)
    out.square().mean().backward()
    for block in (afnb, apnb):
        for name, p in block.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), name


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_autocast_large_inputs_finite_and_close(dtype):
    """Inputs of magnitude 1e2 at 64 x 64 through AFNB then APNB: finite
    under autocast and within 5% of float32."""
    torch.manual_seed(3)
    afnb = AsymmetricFusionNonLocal(4, 6, hidden_channels=4).eval()
    apnb = AsymmetricPyramidNonLocal(6, hidden_channels=4).eval()
    for block in (afnb, apnb):
        for stage in block.stages:
            nn.init.normal_(stage.out_project.weight, std=0.1)
    low, high = 100 * torch.randn(1, 4, 64, 64), 100 * torch.randn(
        1, 6, 64, 64)
    with torch.no_grad():
        expected = apnb(afnb(low, high))
        with torch.autocast('cpu', dtype=dtype):
            out = apnb(afnb(low, high))
    assert out.dtype == dtype and torch.isfinite(out).all()
    torch.testing.assert_close(out.float(), expected, rtol=0,
                               atol=0.05 * float(expected.abs().max()))


def test_plugin_layer_keeps_the_shape():
    name, block = build_plugin_layer(
        dict(type='mmattn.AsymmetricPyramidNonLocal', key_pool_scales=(1, 2)),
        postfix=1, in_channels=8)
    assert name == 'apnb1' and isinstance(block, AsymmetricPyramidNonLocal)
    assert block.stages[0].hidden_channels == 4
    assert block(torch.randn(2, 8, 5, 3)).shape == (2, 8, 5, 3)


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match='query_scales'):
        AsymmetricPyramidNonLocal(8, query_scales=())
    with pytest.raises(ValueError, match='query_scales'):
        AsymmetricPyramidNonLocal(8, query_scales=(1, 0))
    with pytest.raises(ValueError, match='key_pool_scales'):
        AsymmetricPyramidNonLocal(8, key_pool_scales=3)
    with pytest.raises(ValueError, match='key_pool_scales'):
        AsymmetricFusionNonLocal(6, 8, key_pool_scales=(1, 2.5))
    with pytest.raises(ValueError, match='low_in_channels'):
        AsymmetricFusionNonLocal(0, 8)
    with pytest.raises(ValueError, match='hidden_channels'):
        AsymmetricPyramidNonLocal(8, hidden_channels=0)
    with pytest.raises(ValueError, match='share_key_query'):
        AsymmetricNonLocal(8, key_in_channels=6, share_key_query=True)
    afnb = AsymmetricFusionNonLocal(6, 8, hidden_channels=4)
    with pytest.raises(ValueError, match=r'low_feats must have shape \(N, 6'):
        afnb(torch.randn(1, 8, 4, 4), torch.randn(1, 8, 4, 4))
    with pytest.raises(ValueError, match=r'high_feats must have shape'):
        afnb(torch.randn(1, 6, 4, 4), torch.randn(1, 6, 4, 4))
    with pytest.raises(ValueError, match='batch size'):
        afnb(torch.randn(2, 6, 4, 4), torch.randn(1, 8, 4, 4))
    with pytest.raises(ValueError, match=r'x must have shape \(N, 8'):
        AsymmetricPyramidNonLocal(8)(torch.randn(1, 4, 4, 4))
