"""The lambda layer against a loop over query pixels of the paper's
equations, and against timm's LambdaLayer with its state dict as it is."""
import pytest
import torch
from helpers import (assert_conv_matches_reference, assert_gradients_match,
                      randomise)
from reference_formulas import batch_norm, pool_and_bias
from timm_reference import assert_same_as_timm, timm_module

from mmattn.blocks import LambdaLayerConv


def reference_lambda(layer, x):
    """Bello, Sec. 3 and Fig. 3, one query pixel at a time: content lambda
    softmax(K)^T V over all positions; position lambda
    sum over the r x r contexts m inside the image of E(m - n) V_m (+ b);
    y_n = q_n (lambda_c + lambda_p(n)) per head; then pooling and bias."""
    n, _, h, w = x.shape
    heads, k, v = layer.num_heads, layer.key_channels, layer.value_channels
    r = layer.context_size
    qkv = torch.einsum('oc,nchw->nohw', layer.qkv.weight.flatten(1), x)
    q, keys, values = qkv.split([heads * k, k, v], dim=1)
    if not isinstance(layer.norm_q, torch.nn.Identity):
        q, values = batch_norm(layer.norm_q, q), batch_norm(layer.norm_v,
                                                            values)
    q = q.view(n, heads, k, h, w)
    keys = torch.softmax(keys.flatten(2), dim=-1)  # (N, k, HW)
    content = keys @ values.flatten(2).transpose(1, 2)  # (N, k, v)
    embedding = layer.conv_lambda.weight[:, 0, :, :, 0]  # (k, r, r)
    out = torch.zeros(n, heads, v, h, w, dtype=x.dtype)
    for y in range(h):
        for x0 in range(w):
            position = torch.zeros(n, k, v, dtype=x.dtype)
            for a in range(r):
                for b in range(r):
                    y1, x1 = y + a - r // 2, x0 + b - r // 2
                    if 0 <= y1 < h and 0 <= x1 < w:
                        position = position + (
                            embedding[None, :, a, b, None]
                            * values[:, None, :, y1, x1])
            if layer.conv_lambda.bias is not None:
                position = position + layer.conv_lambda.bias[None, :, None]
            out[..., y, x0] = torch.einsum('nhk,nkv->nhv', q[..., y, x0],
                                           content + position)
    out = out.reshape(n, heads * v, h, w)
    return pool_and_bias(layer, out)


LAYERS = {
    'r5': lambda c: LambdaLayerConv(c, key_channels=4, context_size=5),
    'r3_stride2_bias_no_norm': lambda c: LambdaLayerConv(
        c, 2 * c, stride=2, num_heads=2, key_channels=3, context_size=3,
        position_bias=True, bias=True, norm_cfg=None),
    'r23_paper': lambda c: LambdaLayerConv(c),
}


@pytest.mark.reference(blocks=[LambdaLayerConv])
@pytest.mark.parametrize('size', [(1, 1), (5, 6), (3, 9), (9, 4)])
@pytest.mark.parametrize('name', list(LAYERS))
def test_matches_loop_of_the_paper(name, size):
    torch.manual_seed(0)
    layer = randomise(LAYERS[name](16)).eval()
    assert_conv_matches_reference(layer, reference_lambda, size, atol=1e-4)


@pytest.mark.parametrize('name', ['r5', 'r3_stride2_bias_no_norm'])
def test_gradients_match_and_reach_every_parameter(name):
    assert_gradients_match(LAYERS[name], reference_lambda, (2, 16, 5, 7),
                           dict(rtol=1e-4, atol=1e-4),
                           param_tol=dict(rtol=1e-4, atol_scale=1e-5))


def test_structure_is_the_papers():
    layer = LambdaLayerConv(256)
    assert (layer.num_heads, layer.key_channels, layer.context_size) == (
        4, 16, 23)
    assert layer.qkv.out_channels == 4 * 16 + 16 + 64
    assert layer.conv_lambda.weight.shape == (16, 1, 23, 23, 1)
    assert layer.conv_lambda.bias is None


@pytest.mark.parametrize('stride', [1, 2])
def test_loads_timm_weights(stride):
    theirs = timm_module('lambda_layer', 'LambdaLayer')(
        32, stride=stride, num_heads=4, dim_head=8, r=5)
    ours = LambdaLayerConv(32, stride=stride, key_channels=8, context_size=5,
                           position_bias=True)
    assert_same_as_timm(ours, theirs,
                        shape=(2, 32, 8, 6), convert=False,
                        tol=dict(rtol=1e-5, atol=1e-5))


@pytest.mark.parametrize('kwargs, match', [
    (dict(in_channels=16, key_channels=0), r'key_channels.*got 0'),
    (dict(in_channels=16, context_size=4), r'context_size.*odd.*got 4'),
    (dict(in_channels=16, num_heads=3), r'out_channels \(16\).*num_heads'),
    (dict(in_channels=16, position_bias='yes'), r'position_bias.*bool'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        LambdaLayerConv(**kwargs)
