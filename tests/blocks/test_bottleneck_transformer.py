"""BoTNet's MHSA against a loop over query pixels of the paper's formula,
and against timm's BottleneckAttn with its state dict as it is."""
import pytest
import torch
from helpers import (assert_conv_matches_reference, assert_gradients_match,
                      randomise)
from reference_formulas import pool_and_bias
from timm_reference import assert_same_as_timm, timm_module

from mmattn.blocks import BottleneckSelfAttentionConv

BoT = BottleneckSelfAttentionConv


def reference_bot(layer, x):
    """Srinivas et al., Fig. 4 with the gist's scaling: per head,
    softmax over all keys of (q . k + q . r_h[y' - y] + q . r_w[x' - x])
    / sqrt(d), one query pixel at a time; then s x s average pooling
    (windows clipped at the border) and the bias."""
    n, _, h, w = x.shape
    heads, d = layer.num_heads, layer.head_channels
    f_h, f_w = layer.feat_size
    qkv = torch.einsum('oc,nchw->nohw', layer.qkv.weight.flatten(1), x)
    q, k, v = (t.reshape(n, heads, d, h * w) for t in qkv.chunk(3, dim=1))
    r_h, r_w = layer.pos_embed.height_rel, layer.pos_embed.width_rel
    out = torch.zeros(n, heads, d, h, w, dtype=x.dtype)
    for y in range(h):
        for x0 in range(w):
            qp = q[..., y * w + x0]  # (N, heads, d)
            logits = []
            for y1 in range(h):
                for x1 in range(w):
                    r = r_h[y1 - y + f_h - 1] + r_w[x1 - x0 + f_w - 1]
                    logits.append((qp * (k[..., y1 * w + x1] + r)).sum(-1))
            weights = torch.softmax(torch.stack(logits, -1) * d**-0.5, -1)
            out[:, :, :, y, x0] = torch.einsum('nhk,nhdk->nhd', weights, v)
    out = out.reshape(n, heads * d, h, w)
    return pool_and_bias(layer, out)


LAYERS = {
    'paper': lambda c: BoT(c, feat_size=9),
    'stride2_bias_rect': lambda c: BoT(c, 2 * c, stride=2, num_heads=2,
                                       bias=True, feat_size=(9, 12)),
}


@pytest.mark.reference(blocks=[BoT])
@pytest.mark.parametrize('size', [(1, 1), (5, 6), (3, 9), (9, 4)])
@pytest.mark.parametrize('name', list(LAYERS))
def test_matches_loop_of_the_paper(name, size):
    torch.manual_seed(0)
    layer = randomise(LAYERS[name](16))
    assert_conv_matches_reference(layer, reference_bot, size)


@pytest.mark.parametrize('name', list(LAYERS))
def test_gradients_match_and_reach_every_parameter(name):
    assert_gradients_match(LAYERS[name], reference_bot, (2, 16, 5, 7),
                           dict(rtol=1e-4, atol=1e-5),
                           param_tol=dict(rtol=1e-4, atol_scale=1e-5))


@pytest.mark.parametrize('stride', [1, 2])
def test_loads_timm_weights(stride):
    """timm's layer takes exactly ``feat_size``; with the position logits
    scaled as in the gist, both give the same output."""
    theirs = timm_module('bottleneck_attn', 'BottleneckAttn')(
        32, feat_size=(8, 6), stride=stride, scale_pos_embed=True)
    ours = BoT(32, stride=stride, feat_size=(8, 6))
    assert_same_as_timm(ours, theirs,
                        shape=(2, 32, 8, 6), convert=False,
                        tol=dict(rtol=1e-5, atol=1e-5))


def test_a_smaller_map_reads_the_same_offsets():
    """A layer with feat_size (6, 8) on a 3 x 4 map gives what a layer
    built for exactly 3 x 4 gives with the middle rows of the same tables
    (offsets -2..2 and -3..3): a smaller map reads its own offsets."""
    torch.manual_seed(0)
    big = randomise(BoT(16, feat_size=(6, 8)))
    small = BoT(16, feat_size=(3, 4))
    small.qkv.load_state_dict(big.qkv.state_dict())
    with torch.no_grad():
        small.pos_embed.height_rel.copy_(big.pos_embed.height_rel[3:8])
        small.pos_embed.width_rel.copy_(big.pos_embed.width_rel[4:11])
    x = torch.randn(2, 16, 3, 4)
    torch.testing.assert_close(big(x), small(x))


def test_a_map_larger_than_feat_size_is_refused():
    layer = BoT(16, feat_size=(4, 6))
    assert layer(torch.randn(1, 16, 4, 6)).shape == (1, 16, 4, 6)
    with pytest.raises(ValueError, match=r'x has a 5 x 6 map.*feat_size'):
        layer(torch.randn(1, 16, 5, 6))


@pytest.mark.parametrize('kwargs, match', [
    (dict(in_channels=16, num_heads=3), r'out_channels \(16\).*num_heads'),
    (dict(in_channels=16, feat_size=0), r'feat_size.*got 0'),
    (dict(in_channels=16, feat_size=(4, 4, 4)), r'feat_size must be an int'),
    (dict(in_channels=16, groups=2), r'groups must be 1'),
    (dict(in_channels=16, padding=3), r'padding.*= 1.*got 3'),
    (dict(in_channels=16, kernel_size=2), r'kernel_size.*odd'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BoT(**kwargs)
