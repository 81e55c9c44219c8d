"""Halo attention against a loop over query pixels of the paper's blocked
attention, and against timm's HaloAttn with its state dict as it is."""
import pytest
import torch
from helpers import (assert_conv_matches_reference, assert_gradients_match,
                      randomise)
from reference_formulas import pool_and_bias
from timm_reference import assert_same_as_timm, timm_module

from mmattn.blocks import HaloAttentionConv

Halo = HaloAttentionConv


def reference_halo(layer, x):
    """Vaswani et al., Sec. 2.2, one query pixel at a time: the query at
    (y, x) in block (y // b, x // b) attends to the pixels of that block
    grown by h on each side; a key outside the image is left out
    (``mask_padding``) or is a zero key and value; per head, softmax of
    (q . k + q . r_h[i' - i] + q . r_w[j' - j]) / sqrt(d) with (i, j) the
    query's place in its block and (i', j') the key's in the window."""
    n, _, h, w = x.shape
    heads, d = layer.num_heads, layer.head_channels
    b, halo, win = layer.block_size, layer.halo_size, layer.window_size
    q = torch.einsum('oc,nchw->nohw', layer.q.weight.flatten(1), x)
    kv = torch.einsum('oc,nchw->nohw', layer.kv.weight.flatten(1), x)
    q = q.view(n, heads, d, h, w)
    kv = kv.view(n, heads, 2, d, h, w)
    r_h, r_w = layer.pos_embed.height_rel, layer.pos_embed.width_rel
    out = torch.zeros(n, heads, d, h, w, dtype=x.dtype)
    for y in range(h):
        for x0 in range(w):
            i, j = y % b, x0 % b
            top, left = y - i - halo, x0 - j - halo
            qp = q[..., y, x0]
            logits, values = [], []
            for i1 in range(win):
                for j1 in range(win):
                    y1, x1 = top + i1, left + j1
                    r = r_h[i1 - i + win - 1] + r_w[j1 - j + win - 1]
                    if 0 <= y1 < h and 0 <= x1 < w:
                        key = kv[:, :, 0, :, y1, x1]
                        value = kv[:, :, 1, :, y1, x1]
                    elif layer.mask_padding:
                        continue
                    else:
                        key = value = torch.zeros_like(qp)
                    logits.append((qp * (key + r)).sum(-1))
                    values.append(value)
            weights = torch.softmax(torch.stack(logits, -1) * d**-0.5, -1)
            out[..., y, x0] = torch.einsum('nhk,nhkd->nhd', weights,
                                           torch.stack(values, 2))
    out = out.reshape(n, heads * d, h, w)
    return pool_and_bias(layer, out)


LAYERS = {
    'b4_h1': lambda c: Halo(c, num_heads=4, block_size=4, halo_size=1),
    'b3_h2_stride2_bias': lambda c: Halo(c, 2 * c, stride=2, num_heads=2,
                                         block_size=3, halo_size=2,
                                         bias=True),
    'b2_h0': lambda c: Halo(c, num_heads=2, block_size=2, halo_size=0),
    'b4_h2_zero_padding': lambda c: Halo(c, num_heads=4, block_size=4,
                                         halo_size=2, mask_padding=False),
}


@pytest.mark.reference(blocks=[Halo])
@pytest.mark.parametrize('size', [(1, 1), (5, 6), (3, 9), (8, 4)])
@pytest.mark.parametrize('name', list(LAYERS))
def test_matches_loop_of_the_paper(name, size):
    torch.manual_seed(0)
    layer = randomise(LAYERS[name](16))
    assert_conv_matches_reference(layer, reference_halo, size)


@pytest.mark.parametrize('name', ['b4_h1', 'b3_h2_stride2_bias'])
def test_gradients_match_and_reach_every_parameter(name):
    assert_gradients_match(LAYERS[name], reference_halo, (2, 16, 5, 7),
                           dict(rtol=1e-4, atol=1e-5),
                           param_tol=dict(rtol=1e-4, atol_scale=1e-5))


@pytest.mark.parametrize('stride', [1, 2])
def test_loads_timm_weights(stride):
    """timm pads the halo with zero keys (``mask_padding=False`` here) and
    needs H, W multiples of the block; with the gist's scaling and average
    pooling for the stride both give the same output."""
    theirs = timm_module('halo_attn', 'HaloAttn')(
        32, stride=stride, num_heads=4, block_size=4, halo_size=2,
        scale_pos_embed=True, avg_down=True)
    ours = Halo(32, stride=stride, num_heads=4, block_size=4, halo_size=2,
                mask_padding=False)
    assert_same_as_timm(ours, theirs,
                        shape=(2, 32, 8, 12), convert=False,
                        tol=dict(rtol=1e-5, atol=1e-5))


@pytest.mark.parametrize('kwargs, match', [
    (dict(in_channels=16, block_size=0), r'block_size.*got 0'),
    (dict(in_channels=16, halo_size=-1), r'halo_size.*got -1'),
    (dict(in_channels=16, mask_padding=1), r'mask_padding.*bool'),
    (dict(in_channels=16, num_heads=3), r'out_channels \(16\).*num_heads'),
    (dict(in_channels=16, groups=2), r'groups must be 1'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        Halo(**kwargs)
