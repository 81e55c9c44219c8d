"""Efficient attention (Shen et al.) and external attention (EANet) against
the authors' forward passes written out in plain torch, and their heads."""
import pytest
import torch
import torch.nn.functional as F
from helpers import (assert_gradients_match, assert_input_shape_checked,
                      assert_matches_reference, randomise)
from reference_formulas import batch_norm

from mmattn.blocks import EfficientAttention, ExternalAttention

SHAPES = [(2, 32, 7, 5), (1, 32, 1, 1), (1, 32, 3, 9), (3, 32, 16, 8)]


def _conv1x1(conv, t):
    """A 1x1 conv on (N, C, P)."""
    w = conv.weight.reshape(conv.weight.shape[0], -1)
    out = torch.einsum('oc,ncp->nop', w, t)
    return out if conv.bias is None else out + conv.bias[:, None]


def reference_efficient(block, x):
    """The authors' loop over heads (cmsflash/efficient-attention)."""
    n, _, h, w = x.shape
    flat = x.flatten(2)
    keys = _conv1x1(block.keys, flat)
    queries = _conv1x1(block.queries, flat)
    values = _conv1x1(block.values, flat)
    hk = block.key_channels // block.num_heads
    hv = block.value_channels // block.num_heads
    attended = []
    for i in range(block.num_heads):
        key = F.softmax(keys[:, i * hk:(i + 1) * hk], dim=2)
        query = F.softmax(queries[:, i * hk:(i + 1) * hk], dim=1)
        value = values[:, i * hv:(i + 1) * hv]
        context = key @ value.transpose(1, 2)
        attended.append(context.transpose(1, 2) @ query)
    out = _conv1x1(block.reprojection, torch.cat(attended, dim=1))
    return x + out.reshape(x.shape)


def reference_external(block, x):
    """The authors' External_attention.forward (MenghaoGuo/EANet)."""
    n, c, h, w = x.shape
    y = _conv1x1(block.conv1, x.flatten(2))
    attn = F.softmax(_conv1x1(block.linear_0, y), dim=-1)
    attn = attn / (1e-9 + attn.sum(dim=1, keepdim=True))
    z = _conv1x1(block.linear_1, attn)
    z = _conv1x1(block.conv2[0], z).reshape(n, c, h, w)
    out = x + batch_norm(block.conv2[1], z)
    return F.relu(out) if block.relu else out


BLOCKS = {
    'efficient': (lambda c: EfficientAttention(c), reference_efficient),
    'efficient_heads': (lambda c: EfficientAttention(
        c, key_channels=8, value_channels=12, num_heads=4),
        reference_efficient),
    'external': (lambda c: ExternalAttention(c, memory_units=16),
                 reference_external),
    'external_no_relu': (lambda c: ExternalAttention(c, relu=False),
                         reference_external),
}


@pytest.mark.reference(blocks=[EfficientAttention, ExternalAttention])
@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('name', list(BLOCKS))
def test_matches_formula(name, shape):
    assert_matches_reference(*BLOCKS[name], shape, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('name', list(BLOCKS))
def test_gradients_match_and_reach_every_parameter(name):
    # EANet's conv1 bias shifts every position of a unit's logits equally,
    # which the softmax over positions ignores: its gradient is zero (the
    # authors' module has the same redundancy; kept for their keys)
    block, _ = assert_gradients_match(
        *BLOCKS[name], (3, 16, 6, 5), dict(rtol=1e-5, atol=1e-5),
        param_tol=dict(rtol=1e-4, atol_scale=1e-5),
        check_used=not name.startswith('external'))
    if name.startswith('external'):
        grads = {n: p.grad.abs().max() for n, p in block.named_parameters()}
        scale = max(grads.values())
        assert grads.pop('conv1.bias') < 1e-6 * scale
        assert all(g > 1e-6 * scale for g in grads.values()), grads


def test_external_memories_start_transposed_and_stay_apart():
    block = ExternalAttention(16, memory_units=8)
    assert torch.equal(block.linear_1.weight,
                       block.linear_0.weight.permute(1, 0, 2))
    assert block.linear_1.weight.data_ptr() != block.linear_0.weight.data_ptr()


def test_efficient_attention_zero_init_is_the_identity():
    block = EfficientAttention(16, zero_init=True)
    x = torch.randn(2, 16, 5, 6)
    assert torch.equal(block(x), x)


@pytest.mark.parametrize('make, match', [
    (lambda: EfficientAttention(16, num_heads=3), 'num_heads=3 must divide'),
    (lambda: EfficientAttention(16, key_channels=0), 'key_channels'),
    (lambda: ExternalAttention(16, memory_units=0), 'memory_units'),
    (lambda: ExternalAttention(16, relu=1), 'relu'),
])
def test_bad_arguments_are_named(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


@pytest.mark.parametrize('name', ['efficient', 'external'])
def test_bad_input_shape(name):
    assert_input_shape_checked(BLOCKS[name][0](8), 8, 6, ndim=True)


@pytest.mark.parametrize('head, block_name, extra', [
    ('EfficientAttentionHead', 'efficient_attention', dict(num_heads=2)),
    ('ExternalAttentionHead', 'external_attention', dict(memory_units=8)),
])
def test_heads_wrap_the_block(head, block_name, extra):
    from mmengine.registry import init_default_scope

    from mmattn.registry import MODELS
    init_default_scope('mmseg')
    model = MODELS.build(dict(type=f'mmattn.{head}', in_channels=32,
                              channels=16, num_classes=5, **extra))
    model = randomise(model).train()
    block = getattr(model, block_name)
    assert block.in_channels == 16
    assert any(k.startswith(f'{block_name}.') for k in model.state_dict())
    calls = []
    block.register_forward_hook(lambda *args: calls.append(1))
    inputs = [torch.randn(2, 16, 12, 10), torch.randn(2, 32, 6, 5)]
    logits = model(inputs)
    assert logits.shape == (2, 5, 6, 5) and calls == [1]
    logits.square().mean().backward()
    assert all(p.grad is not None for p in block.parameters())
