"""SpatialPyramidAttention (SPA) against its formula written out in plain
torch (loops over pyramid bins)."""
import pytest
import torch
import torch.nn.functional as F
from reference_formulas import bin_mean

from mmattn.blocks import SpatialPyramidAttention
from helpers import (assert_deterministic, assert_gradients_match,
                      assert_input_shape_checked, assert_matches_reference,
                      export_opset17_and_check, randomise)

SHAPES = [(2, 16, 7, 5), (1, 16, 1, 1), (1, 16, 3, 9), (3, 16, 16, 8),
          (2, 16, 9, 13)]


# ---------------------------------------------------------------- references
def reference_pyramid(block, x):
    """Guo et al.: bins of 1, 2, 4 at index c * s^2 + i * s + j."""
    n, c = x.shape[:2]
    parts = []
    for s in block.pool_sizes:
        v = x.new_zeros(n, c * s * s)
        for i in range(s):
            for j in range(s):
                v[:, torch.arange(c) * s * s + i * s + j] = bin_mean(
                    x, i, j, s, s)
        parts.append(v)
    v = torch.cat(parts, dim=1)
    a = torch.sigmoid(F.linear(F.relu(F.linear(v, block.mlp.fc1.weight)),
                               block.mlp.fc2.weight))
    return x * a[:, :, None, None]


BLOCKS = {
    'pyramid': (lambda c: SpatialPyramidAttention(c, reduction=4),
                reference_pyramid),
    'pyramid_1_3': (lambda c: SpatialPyramidAttention(
        c, reduction=4, pool_sizes=(1, 3)),
                    reference_pyramid),
}


# ------------------------------------------------------------------ formulas
@pytest.mark.reference(blocks=[SpatialPyramidAttention])
@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('name', list(BLOCKS))
def test_matches_formula(name, shape):
    assert_matches_reference(*BLOCKS[name], shape, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('shape', [(3, 16, 9, 7), (2, 16, 16, 8)])
@pytest.mark.parametrize('name', list(BLOCKS))
def test_gradients_match_and_reach_every_parameter(name, shape):
    # float64: BN over a few pooled values amplifies float32 rounding
    assert_gradients_match(*BLOCKS[name], shape, {}, double=True)


def test_pyramid_structure_and_flatten_order():
    block = SpatialPyramidAttention(64)
    assert block.hidden_channels == 4
    assert block.mlp.fc1.weight.shape == (4, 21 * 64)
    assert block.mlp.fc2.weight.shape == (64, 4)
    assert set(block.state_dict()) == {'mlp.fc1.weight', 'mlp.fc2.weight'}
    assert sum(p.numel() for p in SpatialPyramidAttention(2048).parameters()
               ) == 21 * 2048 * 128 + 128 * 2048
    x = torch.randn(2, 64, 8, 8)
    v = block.pyramid(x)
    # channel 3's 2x2 bin (1, 0) sits at C + 3 * 4 + 2
    torch.testing.assert_close(v[:, 64 + 3 * 4 + 2],
                               x[:, 3, 4:, :4].mean(dim=(1, 2)))
    torch.testing.assert_close(v[:, 64 * 5 + 5 * 16 + 7],
                               x[:, 5, 2:4, 6:].mean(dim=(1, 2)))


def test_pyramid_pooling_equals_adaptive_avg_pool():
    torch.manual_seed(0)
    x = torch.randn(2, 16, 11, 6, dtype=torch.float64)
    block = SpatialPyramidAttention(16).double()
    expected = torch.cat([F.adaptive_avg_pool2d(x, s).flatten(1)
                          for s in (1, 2, 4)], dim=1)
    torch.testing.assert_close(block.pyramid(x), expected)


# ------------------------------------------------------------ determinism
def test_deterministic_mode():
    assert_deterministic(BLOCKS)


# ------------------------------------------------------------ bad arguments
SPA = SpatialPyramidAttention


@pytest.mark.parametrize('cls, kwargs, match', [
    (SPA, dict(in_channels=0), r'in_channels.*got 0'),
    (SPA, dict(in_channels=8), r'reduction.*<= in_channels.*16'),
    (SPA, dict(in_channels=16, pool_sizes=(1, 0)), r'pool_sizes.*got 0'),
    (SPA, dict(in_channels=16, pool_sizes=()), r'pool_sizes.*got \(\)'),
])
def test_bad_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


@pytest.mark.parametrize('name', ['pyramid'])
def test_bad_input_shape(name):
    assert_input_shape_checked(BLOCKS[name][0](16).eval(), 16, 8, ndim=True)


@pytest.mark.parametrize('pool_sizes, match', [
    ((1, 0), r'every entry of pool_sizes must be a positive int, got 0'),
    ((), r'pool_sizes must be a non-empty tuple'),
    (4, r'pool_sizes must be a non-empty tuple'),
])
def test_pool_sizes_errors_name_the_argument(pool_sizes, match):
    with pytest.raises(ValueError, match=match):
        SpatialPyramidAttention(16, pool_sizes=pool_sizes)


# -------------------------------------------------------------------- ONNX
@pytest.mark.filterwarnings('ignore')
@pytest.mark.parametrize('name', ['pyramid'])
def test_onnx_export_opset17_dynamic_hw(name, tmp_path):
    torch.manual_seed(0)
    block = randomise(BLOCKS[name][0](16)).eval()
    export_opset17_and_check(block, tmp_path / f'{name}.onnx')
