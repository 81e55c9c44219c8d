"""ResidualAttention (Residual Attention Network) against its formula
written out in plain torch (the recursive hourglass mask, native pooling and
interpolation)."""
import pytest
import torch
import torch.nn.functional as F
from block_checks import check_plugin_in_resnet
from reference_formulas import batch_norm, pointwise

import mmattn  # noqa: F401  (registers the mmattn.* names)
from mmattn.blocks import ResidualAttention
from helpers import (assert_deterministic, assert_every_parameter_used,
                      assert_gradients_match, assert_input_shape_checked,
                      assert_matches_reference, export_opset17_and_check,
                      randomise)

SHAPES = [(2, 16, 7, 5), (1, 16, 1, 1), (1, 16, 3, 9), (3, 16, 16, 8),
          (2, 16, 9, 13)]


# ---------------------------------------------------------------- references
def _unit(unit, x):
    """Pre-activation bottleneck: x + conv(relu(bn(.))) three times."""
    y = x
    for layer in unit.layers:
        y = F.relu(batch_norm(layer.bn, y))
        k = layer.conv.kernel_size[0]
        y = F.conv2d(y, layer.conv.weight, padding=k // 2)
    return x + y


def _units(seq, x):
    for unit in seq:
        x = _unit(unit, x)
    return x


def reference_ra(block, x):
    """Wang et al.: (1 + M) * T between pre and post units; the mask is the
    recursive hourglass: pool, units, then (if deeper levels remain) skip +
    upsampled deeper level, units; upsample to the input; head; sigmoid."""
    def up(y, like):
        return F.interpolate(y, size=like.shape[2:], mode='bilinear',
                             align_corners=False)

    def hourglass(y, level):
        y = _units(block.down[level], F.max_pool2d(y, 3, 2, 1))
        if level == block.num_downsamples - 1:
            return _units(block.bottom, y)
        skip = _unit(block.skip[level], y)
        return _units(block.up[level], up(hourglass(y, level + 1), skip)
                      + skip)

    x = _units(block.pre, x)
    m = up(hourglass(x, 0), x)
    for layer in block.mask_head:
        m = pointwise(layer.conv, F.relu(batch_norm(layer.bn, m)))
    return _units(block.post, (1 + torch.sigmoid(m)) * _units(block.trunk, x))


BLOCKS = {
    'ra': (lambda c: ResidualAttention(c), reference_ra),
    'ra_d3_r2_t0': (lambda c: ResidualAttention(
        c, num_downsamples=3, num_mask_units=2, num_trunk_units=0),
        reference_ra),
    'ra_d1_p0': (lambda c: ResidualAttention(c, num_downsamples=1,
                                             num_pre_units=0), reference_ra),
}


# ------------------------------------------------------------------ formulas
@pytest.mark.reference(blocks=[ResidualAttention])
@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('name', list(BLOCKS))
def test_matches_formula(name, shape):
    assert_matches_reference(*BLOCKS[name], shape, rtol=1e-4,
                             atol=1e-4)


@pytest.mark.parametrize('name', list(BLOCKS))
def test_gradients_match_and_reach_every_parameter(name):
    block, x = assert_gradients_match(
        *BLOCKS[name], (3, 16, 9, 7), dict(rtol=1e-4, atol=1e-4),
        input_tol=dict(rtol=1e-3, atol_scale=1e-5),
        param_tol=dict(rtol=1e-3, atol_scale=1e-4), check_used=False)
    assert_every_parameter_used(block, x)


# ------------------------------------------------------------------ init
@pytest.mark.parametrize('name', ['ra', 'ra_d3_r2_t0', 'ra_d1_p0'])
def test_residual_attention_starts_as_a_fixed_scale(name):
    """zero_init: every unit is the identity and M = 0.5, so 1.5 * x."""
    torch.manual_seed(0)
    block = BLOCKS[name][0](16).train()
    x = torch.randn(2, 16, 9, 6)
    torch.testing.assert_close(block(x), 1.5 * x)
    plain = ResidualAttention(16, zero_init=False).train()
    assert not torch.allclose(plain(x), 1.5 * x)


def test_residual_attention_mask_is_in_unit_interval_and_counts_units():
    block = randomise(ResidualAttention(16, num_downsamples=3)).eval()
    x = torch.randn(1, 16, 11, 6)
    m = block.soft_mask(x)
    assert m.shape == x.shape and m.min() > 0 and m.max() < 1
    # p + t + p units, D down steps, D - 1 skips and up steps, one bottom
    assert (len(block.pre), len(block.trunk), len(block.post)) == (1, 2, 1)
    assert (len(block.down), len(block.skip), len(block.up)) == (3, 2, 2)
    assert block.pre[0].layers[0].conv.out_channels == 16 // 4


def test_deterministic_mode():
    assert_deterministic(BLOCKS)


# ------------------------------------------------------------ bad arguments
RA = ResidualAttention


@pytest.mark.parametrize('cls, kwargs, match', [
    (RA, dict(in_channels=0), r'in_channels.*got 0'),
    (RA, dict(in_channels=2),
     r'reduction.*<= in_channels \(2\).*got 4'),
    (RA, dict(in_channels=8, reduction=0), r'reduction.*got 0'),
    (RA, dict(in_channels=8, num_downsamples=0), r'num_downsamples.*got 0'),
    (RA, dict(in_channels=8, num_pre_units=-1),
     r'num_pre_units.*non-negative.*got -1'),
    (RA, dict(in_channels=8, num_trunk_units=1.5),
     r'num_trunk_units.*got 1\.5'),
    (RA, dict(in_channels=8, num_mask_units=0), r'num_mask_units.*got 0'),
])
def test_bad_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


def test_zero_init_must_be_bool():
    with pytest.raises(TypeError, match=r"zero_init.*bool.*got 'yes'"):
        ResidualAttention(8, zero_init='yes')


@pytest.mark.parametrize('name', ['ra'])
def test_bad_input_shape(name):
    assert_input_shape_checked(BLOCKS[name][0](16), 16, 8)


# ------------------------------------------------------------------ plugins
@pytest.mark.parametrize('scope', ['mmseg', 'mmdet'])
def test_plugin_in_resnet(scope):
    check_plugin_in_resnet(scope, dict(type='mmattn.ResidualAttention'),
                           'after_conv1', identity=1.5)


# -------------------------------------------------------------------- ONNX
@pytest.mark.filterwarnings('ignore')
@pytest.mark.parametrize('name', ['ra', 'ra_d3_r2_t0'])
def test_onnx_export_opset17_dynamic_hw(name, tmp_path):
    torch.manual_seed(0)
    block = randomise(BLOCKS[name][0](16)).eval()
    export_opset17_and_check(block, tmp_path / f'{name}.onnx')
