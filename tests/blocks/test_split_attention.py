"""SplitAttentionConv (ResNeSt) against its formula written out per
cardinal group and split, and against mmdet's and timm's split-attention
convs, whose state dicts load as they are."""
import pytest
import torch
import torch.nn.functional as F
from helpers import (assert_gradients_match, assert_matches_reference,
                      assert_same_forward_backward, randomise)
from reference_formulas import batch_norm
from timm_reference import assert_same_as_timm, timm_layers

from mmattn.blocks import SplitAttentionConv

SHAPES = [(2, 16, 7, 5), (1, 16, 1, 1), (1, 16, 3, 9), (3, 16, 16, 8)]


def reference_split_attention(block, x):
    """Zhang et al., Fig. 2 (right) and Sec. 3: per cardinal group k, R
    splits of C / K channels; a_r = softmax over r of the group's logits."""
    r_splits, k_groups, c = block.radix, block.groups, block.out_channels
    conv = block.conv
    u = F.conv2d(x, conv.weight, conv.bias, conv.stride, conv.padding,
                 conv.dilation, conv.groups)
    if block.norm0 is not None:
        u = batch_norm(block.norm0, u)
    u = F.relu(u)
    splits = [u[:, r * c:(r + 1) * c] for r in range(r_splits)]
    s = sum(splits).mean(dim=(2, 3), keepdim=True)
    z = F.conv2d(s, block.fc1.weight, block.fc1.bias, groups=k_groups)
    if block.norm1 is not None:
        z = batch_norm(block.norm1, z)
    logits = F.conv2d(F.relu(z), block.fc2.weight, block.fc2.bias,
                      groups=k_groups)[:, :, 0, 0]
    width = c // k_groups
    out = torch.zeros_like(splits[0])
    for k in range(k_groups):
        # the group's fc2 outputs: R blocks of C / K logits
        group = logits[:, k * r_splits * width:(k + 1) * r_splits * width]
        group = group.view(-1, r_splits, width)
        weights = (group.softmax(dim=1) if r_splits > 1 else group.sigmoid())
        for r in range(r_splits):
            out[:, k * width:(k + 1) * width] += (
                weights[:, r, :, None, None]
                * splits[r][:, k * width:(k + 1) * width])
    return out


BLOCKS = {
    'radix2': (lambda c: SplitAttentionConv(c, min_channels=8),
               reference_split_attention),
    'radix2_cardinality4_stride2': (lambda c: SplitAttentionConv(
        c, 2 * c, stride=2, groups=4, min_channels=8),
        reference_split_attention),
    'radix4_dilation2_k5': (lambda c: SplitAttentionConv(
        c, kernel_size=5, dilation=2, radix=4, groups=2),
        reference_split_attention),
    'radix1_no_norm': (lambda c: SplitAttentionConv(
        c, radix=1, norm_cfg=None, bias=True, min_channels=4),
        reference_split_attention),
}


def _out_shape(block, shape):
    s = block.stride
    return (shape[0], block.out_channels, (shape[2] - 1) // s + 1,
            (shape[3] - 1) // s + 1)


@pytest.mark.reference(blocks=[SplitAttentionConv])
@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('name', list(BLOCKS))
def test_matches_formula(name, shape):
    assert_matches_reference(*BLOCKS[name], shape, rtol=1e-5, atol=1e-5,
                             out_shape=_out_shape)


@pytest.mark.parametrize('name', list(BLOCKS))
def test_gradients_match_and_reach_every_parameter(name):
    # float64: BN over a few pooled values amplifies float32 rounding
    assert_gradients_match(*BLOCKS[name], (3, 16, 9, 7), {}, double=True)


def test_structure_follows_the_authors_code():
    block = SplitAttentionConv(64, 64, groups=1)
    assert block.hidden_channels == 32  # max(64 * 2 // 4, 32)
    assert SplitAttentionConv(256).hidden_channels == 128
    assert block.conv.groups == 2 and block.conv.out_channels == 128
    assert block.conv.bias is None and block.fc1.bias is not None
    assert [n for n, _ in block.named_children()] == [
        'conv', 'bn0', 'bn1', 'act', 'fc1', 'fc2']
    gn = SplitAttentionConv(64, norm_cfg=dict(type='GN', num_groups=8))
    assert gn.norm0_name == 'gn0' and gn.norm1_name == 'gn1'


@pytest.mark.parametrize('radix, groups, stride', [(2, 1, 1), (2, 4, 2),
                                                   (1, 2, 1), (4, 2, 1)])
def test_same_as_mmdet_resnest_conv(radix, groups, stride):
    """mmdet's ``SplitAttentionConv2d`` (ResNeSt backbone), training mode:
    the same outputs and gradients with its state dict loaded as it is."""
    from mmdet.models.backbones.resnest import SplitAttentionConv2d
    torch.manual_seed(0)
    theirs = randomise(SplitAttentionConv2d(
        32, 64, 3, stride=stride, padding=1, groups=groups, radix=radix))
    ours = SplitAttentionConv(32, 64, stride=stride, groups=groups,
                              radix=radix)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    assert_same_forward_backward(theirs, ours, torch.randn(2, 32, 9, 7))


@pytest.mark.parametrize('stride', [1, 2])
def test_avg_down_stride_is_resnests_avd(stride):
    """``avg_down_stride=True`` is the avd of mmdet's ResNeSt Bottleneck:
    its split-attention conv at stride 1, then its 3x3 average pool (only
    where the block strides)."""
    from mmdet.models.backbones.resnest import Bottleneck
    torch.manual_seed(0)
    block = randomise(Bottleneck(64, 16, stride=stride, radix=2,
                                 avg_down_stride=True))
    theirs = torch.nn.Sequential(block.conv2, *(
        [block.avd_layer] if hasattr(block, 'avd_layer') else []))
    ours = SplitAttentionConv(16, stride=stride, avg_down_stride=True)
    ours.load_state_dict(block.conv2.state_dict(), strict=True)
    assert (ours.avd is None) == (stride == 1)
    assert ours.conv.stride == (1, 1)
    # the same parameter names ('0.conv.weight', ...) on both sides
    assert_same_forward_backward(theirs, torch.nn.Sequential(ours),
                                 torch.randn(2, 16, 9, 7))
    assert ours(torch.randn(2, 16, 9, 7)).shape[2:] == (
        (5, 4) if stride == 2 else (9, 7))


@pytest.mark.parametrize('radix, groups', [(2, 1), (2, 4)])
def test_loads_timm_weights(radix, groups):
    theirs = timm_layers().SplitAttn(
        32, radix=radix, groups=groups, norm_layer=torch.nn.BatchNorm2d)
    ours = SplitAttentionConv(32, groups=groups, radix=radix)
    assert_same_as_timm(ours, theirs,
                        shape=(2, 32, 9, 7), convert=False,
                        tol=dict(rtol=1e-5, atol=1e-6))


def test_batch_size_one_in_training_names_norm_cfg():
    block = SplitAttentionConv(16, min_channels=8).train()
    with pytest.raises(ValueError, match=r'norm_cfg gives a BatchNorm2d'):
        block(torch.randn(1, 16, 5, 5))
    block.eval()
    assert block(torch.randn(1, 16, 5, 5)).shape == (1, 16, 5, 5)


@pytest.mark.parametrize('kwargs, match', [
    (dict(in_channels=0), r'in_channels.*got 0'),
    (dict(in_channels=16, radix=0), r'radix.*got 0'),
    (dict(in_channels=16, kernel_size=2), r'kernel_size.*odd.*got 2'),
    (dict(in_channels=16, padding=0), r'padding.*= 1.*got 0'),
    (dict(in_channels=16, groups=3), r'groups must divide in_channels'),
    (dict(in_channels=16, out_channels=12, groups=8),
     r'groups must divide out_channels \(12\)'),
    (dict(in_channels=32, groups=16, reduction=8, min_channels=8),
     r'groups \(16\) must divide the attention width.*= 8'),
    (dict(in_channels=16, reduction=0), r'reduction.*got 0'),
    (dict(in_channels=6, radix=4, groups=1),
     r'groups \* radix \(1 \* 4\) must divide in_channels \(6\)'),
    (dict(in_channels=16, avg_down_stride=1), r'avg_down_stride.*got 1'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        SplitAttentionConv(**kwargs)
