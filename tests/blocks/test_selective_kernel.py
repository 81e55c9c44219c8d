"""SelectiveKernelConv (SKNet) against its formula written out in plain
torch (explicit path-major logits and softmax)."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from reference_formulas import batch_norm, conv_module, softmax

import mmattn  # noqa: F401  (registers the mmattn.* names)
from mmattn.blocks import SelectiveKernelConv
from helpers import (assert_deterministic, assert_gradients_match,
                      assert_input_shape_checked, assert_matches_reference,
                      export_opset17_and_check, randomise)

SHAPES = [(2, 16, 7, 5), (1, 16, 1, 1), (1, 16, 3, 9), (3, 16, 16, 8),
          (2, 16, 9, 13)]


# ---------------------------------------------------------------- references
def reference_sk(block, x):
    """Li et al.: paths, U = sum, GAP, fc + BN + ReLU, path-major logits,
    softmax over paths, weighted sum."""
    m_paths, c = block.num_paths, block.out_channels
    paths = []
    for layer in block.paths:
        conv = layer.conv
        paths.append(conv_module(layer, x, stride=conv.stride,
                                 padding=conv.padding,
                                 dilation=conv.dilation,
                                 groups=conv.groups))
    s = sum(paths).mean(dim=(2, 3))  # (N, C)
    fc = block.fuse
    z = F.linear(s, fc.conv.weight.flatten(1), fc.conv.bias)
    z = F.relu(batch_norm(fc.norm, z[:, :, None, None]))[:, :, 0, 0]
    select = block.select.weight.flatten(1)  # (M * C, d)
    logits = torch.stack([F.linear(z, select[m * c:(m + 1) * c])
                          for m in range(m_paths)], dim=1)  # (N, M, C)
    a = softmax(logits, dim=1)
    return sum(a[:, m, :, None, None] * paths[m] for m in range(m_paths))


BLOCKS = {
    'sk': (lambda c: SelectiveKernelConv(c, groups=4, min_channels=8),
           reference_sk),
    'sk_m3_stride2': (lambda c: SelectiveKernelConv(
        c, 2 * c, stride=2, groups=8, num_paths=3, reduction=4),
        reference_sk),
    'sk_dilation2_k5': (lambda c: SelectiveKernelConv(
        c, 8, kernel_size=5, dilation=2, padding=4, groups=2), reference_sk),
}


# ------------------------------------------------------------------ formulas
def _out_shape(block, shape):
    s = block.stride
    return (shape[0], block.out_channels, (shape[2] - 1) // s + 1,
            (shape[3] - 1) // s + 1)


@pytest.mark.reference(blocks=[SelectiveKernelConv])
@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('name', list(BLOCKS))
def test_matches_formula(name, shape):
    assert_matches_reference(*BLOCKS[name], shape, rtol=1e-5, atol=1e-5,
                             out_shape=_out_shape)


@pytest.mark.parametrize('shape', [(3, 16, 9, 7), (2, 16, 16, 8)])
@pytest.mark.parametrize('name', list(BLOCKS))
def test_gradients_match_and_reach_every_parameter(name, shape):
    # float64: BN over a few pooled values amplifies float32 rounding
    assert_gradients_match(*BLOCKS[name], shape, {}, double=True)


def test_sk_structure_follows_the_paper():
    block = SelectiveKernelConv(64, 128, stride=2)
    assert block.hidden_channels == 32  # max(128 // 16, L = 32)
    assert SelectiveKernelConv(1024).hidden_channels == 64
    assert [p.conv.dilation for p in block.paths] == [(1, 1), (2, 2)]
    assert [p.conv.padding for p in block.paths] == [(1, 1), (2, 2)]
    for path in block.paths:
        assert path.conv.groups == 32 and path.conv.stride == (2, 2)
        assert path.conv.bias is None and isinstance(path.norm,
                                                     nn.BatchNorm2d)
    assert block.fuse.conv.bias is None and block.select.bias is None
    assert block.select.weight.shape == (2 * 128, 32, 1, 1)
    assert block(torch.randn(2, 64, 9, 6)).shape == (2, 128, 5, 3)


def test_sk_logits_are_path_major():
    """Only the first C logits (path 0) raised: every channel picks path 0,
    so the output is path 0 alone."""
    torch.manual_seed(0)
    block = randomise(SelectiveKernelConv(8, groups=2, min_channels=4)).eval()
    with torch.no_grad():
        block.select.weight.zero_()
        block.select.weight[:8] = 50.0
        block.fuse.norm.bias.fill_(1.0)  # z > 0 after the ReLU
        block.fuse.norm.weight.zero_()
    x = torch.randn(2, 8, 5, 7)
    torch.testing.assert_close(block(x), block.paths[0](x))


def test_sk_equal_paths_give_that_path():
    """Softmax over paths sums to 1: identical paths give the path back."""
    torch.manual_seed(0)
    block = randomise(SelectiveKernelConv(8, groups=2, min_channels=4,
                                          kernel_size=1)).eval()
    block.paths[1].load_state_dict(block.paths[0].state_dict())
    x = torch.randn(2, 8, 5, 7)
    torch.testing.assert_close(block(x), block.paths[0](x))


def test_batch_size_one_in_training():
    block = SelectiveKernelConv(16, groups=4, min_channels=8).train()
    x = torch.randn(1, 16, 6, 5)
    with pytest.raises(ValueError,
                       match=r'fc_norm_cfg gives a BatchNorm2d.*batch size 1'):
        block(x)
    block.eval()
    assert block(x).shape[:2] == (1, 16)  # running statistics: fine


def test_batch_size_one_in_training_with_group_norm():
    x = torch.randn(1, 16, 6, 5)
    gn = dict(type='GN', num_groups=2)
    sk = SelectiveKernelConv(16, groups=4, min_channels=8,
                             fc_norm_cfg=gn).train()
    assert sk(x).shape == x.shape
    sk = SelectiveKernelConv(16, groups=4, min_channels=8,
                             fc_norm_cfg=None).train()
    assert sk.fuse.conv.bias is not None and sk(x).shape == x.shape


# ------------------------------------------------------------ determinism
def test_deterministic_mode():
    assert_deterministic(BLOCKS)


# ------------------------------------------------------------ bad arguments
SK = SelectiveKernelConv


@pytest.mark.parametrize('cls, kwargs, match', [
    (SK, dict(in_channels=0), r'in_channels.*got 0'),
    (SK, dict(in_channels=64, out_channels=-1), r'out_channels.*got -1'),
    (SK, dict(in_channels=64, stride=0), r'stride.*got 0'),
    (SK, dict(in_channels=64, kernel_size=4), r'kernel_size.*odd.*got 4'),
    (SK, dict(in_channels=64, padding=2),
     r'padding.*None or .* = 1.*got 2'),
    (SK, dict(in_channels=64, dilation=2, padding=1),
     r'padding.* = 2.*got 1'),
    (SK, dict(in_channels=64, num_paths=1), r'num_paths.*>= 2.*got 1'),
    (SK, dict(in_channels=48), r'groups must divide in_channels \(48\).*32'),
    (SK, dict(in_channels=64, out_channels=48),
     r'groups must divide out_channels \(48\)'),
    (SK, dict(in_channels=64, reduction=0), r'reduction.*got 0'),
    (SK, dict(in_channels=64, min_channels=0), r'min_channels.*got 0'),
])
def test_bad_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


def test_sk_bias_must_be_a_bool():
    with pytest.raises(TypeError, match=r"bias must be a bool, got 'no'"):
        SelectiveKernelConv(64, bias='no')


@pytest.mark.parametrize('name', ['sk'])
def test_bad_input_shape(name):
    assert_input_shape_checked(BLOCKS[name][0](16).eval(), 16, 8, ndim=True)


# -------------------------------------------------------------------- ONNX
@pytest.mark.filterwarnings('ignore')
@pytest.mark.parametrize('name', ['sk', 'sk_m3_stride2'])
def test_onnx_export_opset17_dynamic_hw(name, tmp_path):
    torch.manual_seed(0)
    block = randomise(BLOCKS[name][0](16)).eval()
    export_opset17_and_check(block, tmp_path / f'{name}.onnx')
