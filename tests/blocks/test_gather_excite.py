"""Gather-Excite against its formula written out in plain torch (window
means by counting, explicit nearest indices)."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from reference_formulas import batch_norm, channel_mlp

from mmattn.blocks import GatherExcite, SqueezeExcitation
from helpers import (assert_deterministic, assert_gradients_match,
                      assert_input_shape_checked, assert_matches_reference,
                      export_opset17_and_check, randomise)

SHAPES = [(2, 16, 7, 5), (1, 16, 1, 1), (1, 16, 3, 9), (3, 16, 16, 8),
          (2, 16, 9, 13)]


# ---------------------------------------------------------------- references
def _window_mean(x, e):
    """Mean over the in-bounds part of the (2e-1)^2 window centred on every
    e-th position: a sum of zero-padded values divided by a count of ones."""
    c = x.size(1)
    k = 2 * e - 1
    ones_k = x.new_ones(c, 1, k, k)
    pad = (e - 1, ) * 4
    total = F.conv2d(F.pad(x, pad), ones_k, stride=e, groups=c)
    count = F.conv2d(F.pad(torch.ones_like(x), pad), ones_k, stride=e,
                     groups=c)
    return total / count


def _nearest_index(out_size, in_size, device):
    """Nearest ('asymmetric', floor) source index of each output position."""
    return torch.arange(out_size, device=device) * in_size // out_size


def reference_ge(block, x):
    """Hu et al.: gather (pool, or strided depthwise convs + BN), optional
    MLP, nearest upsampling, sigmoid, multiply. theta-plus as the authors'
    RN50-GEPP.prototxt: a ReLU after the gather's last BN, before the MLP
    (``conv*/gather/relu``); theta without MLP has none there."""
    n, c, h, w = x.shape
    if block.extent is None:
        g = x.mean(dim=(2, 3), keepdim=True)
    elif not block.extra_params:
        g = _window_mean(x, block.extent)
    else:
        g = x
        for i, layer in enumerate(block.gather):
            g = F.conv2d(g, layer.conv.weight, layer.conv.bias, stride=2,
                         padding=1, groups=c)
            if layer.with_norm:
                g = batch_norm(layer.norm, g)
            if i < len(block.gather) - 1 or block.use_mlp:
                g = F.relu(g)
    if block.use_mlp:
        g = channel_mlp(block.mlp, g)
    if block.extent is not None:
        assert g.shape[2:] == (-(-h // block.extent), -(-w // block.extent))
        g = g[:, :, _nearest_index(h, g.size(2), x.device)]
        g = g[:, :, :, _nearest_index(w, g.size(3), x.device)]
    return x * torch.sigmoid(g)


BLOCKS = {
    'ge_global': (lambda c: GatherExcite(c), reference_ge),
    'ge_e2': (lambda c: GatherExcite(c, extent=2), reference_ge),
    'ge_e4': (lambda c: GatherExcite(c, extent=4), reference_ge),
    'ge_e8': (lambda c: GatherExcite(c, extent=8), reference_ge),
    'ge_global_mlp': (lambda c: GatherExcite(c, use_mlp=True, reduction=4),
                      reference_ge),
    'ge_e2_mlp': (lambda c: GatherExcite(c, extent=2, use_mlp=True),
                  reference_ge),
    'ge_theta_e2': (lambda c: GatherExcite(c, extent=2, extra_params=True),
                    reference_ge),
    'ge_theta_e8': (lambda c: GatherExcite(c, extent=8, extra_params=True),
                    reference_ge),
    'ge_theta_e4_nonorm': (lambda c: GatherExcite(
        c, extent=4, extra_params=True, norm_cfg=None), reference_ge),
    'ge_theta_plus_e4': (lambda c: GatherExcite(
        c, extent=4, extra_params=True, use_mlp=True, reduction=4),
        reference_ge),
}


# ------------------------------------------------------------------ formulas
@pytest.mark.reference(blocks=[GatherExcite])
@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('name', list(BLOCKS))
def test_matches_formula(name, shape):
    assert_matches_reference(*BLOCKS[name], shape, rtol=1e-5,
                             atol=1e-6)


@pytest.mark.parametrize('shape', [(3, 16, 9, 7), (2, 16, 16, 8)])
@pytest.mark.parametrize('name', list(BLOCKS))
def test_gradients_match_and_reach_every_parameter(name, shape):
    assert_gradients_match(
        *BLOCKS[name], shape, dict(rtol=1e-5, atol=1e-5),
        param_tol=dict(rtol=1e-4, atol=1e-5))


@pytest.mark.parametrize('extent, convs', [(2, 1), (4, 2), (8, 3)])
def test_ge_theta_structure(extent, convs):
    block = GatherExcite(32, extent=extent, extra_params=True)
    assert len(block.gather) == convs
    for i, layer in enumerate(block.gather):
        assert layer.conv.groups == 32 and layer.conv.stride == (2, 2)
        assert layer.conv.kernel_size == (3, 3) and layer.conv.bias is None
        assert isinstance(layer.norm, nn.BatchNorm2d)
        assert layer.with_activation == (i < convs - 1)
    assert block.mlp is None
    x = torch.randn(1, 32, 17, 6)
    assert block.gather_map(x).shape == (1, 32, -(-17 // extent),
                                         -(-6 // extent))


def test_ge_parameter_free_variants_have_no_parameters():
    for extent in (None, 2, 4, 8):
        assert not list(GatherExcite(8, extent=extent).parameters())
    block = GatherExcite(64, extent=2, use_mlp=True)
    assert block.hidden_channels == 4
    assert {k for k in block.state_dict()} == {
        'mlp.fc1.weight', 'mlp.fc1.bias', 'mlp.fc2.weight', 'mlp.fc2.bias'}


def test_ge_global_with_mlp_is_se():
    torch.manual_seed(0)
    ge = randomise(GatherExcite(32, use_mlp=True, reduction=8))
    se = SqueezeExcitation(32, reduction=8)
    se.load_state_dict(ge.state_dict())
    x = torch.randn(2, 32, 5, 7)
    torch.testing.assert_close(ge(x), se(x))


@pytest.mark.parametrize('extent', [2, 4, 8])
def test_ge_excite_aligns_with_the_gather_grid(extent):
    """When e divides H and W, position i reads cell i // e (as timm)."""
    torch.manual_seed(0)
    block = GatherExcite(4, extent=extent)
    x = torch.randn(2, 4, 2 * extent, 3 * extent)
    g = block.gather_map(x)
    expected = g.repeat_interleave(extent, 2).repeat_interleave(extent, 3)
    torch.testing.assert_close(block(x), x * expected.sigmoid())


def test_ge_theta_minus_is_a_window_mean():
    """One cell by hand: H = W = 5, e = 2, cell (1, 2) covers rows 1..3 and
    columns 3..4 (the window is clipped at the border)."""
    x = torch.randn(1, 3, 5, 5)
    g = GatherExcite(3, extent=2).gather_map(x)
    assert g.shape == (1, 3, 3, 3)
    torch.testing.assert_close(g[0, :, 1, 2], x[0, :, 1:4, 3:5].mean((1, 2)))
    torch.testing.assert_close(g[0, :, 0, 0], x[0, :, 0:2, 0:2].mean((1, 2)))


# ------------------------------------------------------------ determinism
def test_deterministic_mode():
    assert_deterministic(BLOCKS)


# ------------------------------------------------------------ bad arguments
@pytest.mark.parametrize('cls, kwargs, match', [
    (GatherExcite, dict(in_channels=0), r'in_channels.*got 0'),
    (GatherExcite, dict(in_channels=8, extent=3),
     r'extent.*one of \(2, 4, 8, None\).*got 3'),
    (GatherExcite, dict(in_channels=8, extent=16), r'extent.*got 16'),
    (GatherExcite, dict(in_channels=8, extent=0), r'extent.*got 0'),
    (GatherExcite, dict(in_channels=8, extent=2.0), r'extent.*got 2\.0'),
    (GatherExcite, dict(in_channels=8, extent=True), r'extent.*got True'),
    (GatherExcite, dict(in_channels=8, extra_params=True),
     r'extent=None.*extra_params=True.*feature size'),
    (GatherExcite, dict(in_channels=8, extent=2, use_mlp=True),
     r'reduction.*<= in_channels.*16'),
    (GatherExcite, dict(in_channels=8, reduction=0), r'reduction.*got 0'),
])
def test_bad_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


def test_ge_flags_must_be_bools():
    with pytest.raises(TypeError, match=r"extra_params.*bool.*got 'yes'"):
        GatherExcite(8, extent=2, extra_params='yes')
    with pytest.raises(TypeError, match=r'use_mlp.*bool.*got 1'):
        GatherExcite(8, use_mlp=1)


@pytest.mark.parametrize('name', ['ge_global', 'ge_theta_e2'])
def test_bad_input_shape(name):
    assert_input_shape_checked(BLOCKS[name][0](8), 8, 6, ndim=True)


# -------------------------------------------------------------------- ONNX
@pytest.mark.filterwarnings('ignore')
@pytest.mark.parametrize('name', [
    'ge_global', 'ge_e2', 'ge_e8', 'ge_global_mlp', 'ge_theta_e2',
    'ge_theta_plus_e4'])
def test_onnx_export_opset17_dynamic_hw(name, tmp_path):
    """The TorchScript exporter (the one that writes opset 17 as asked)."""
    torch.manual_seed(0)
    block = randomise(BLOCKS[name][0](16)).eval()
    export_opset17_and_check(block, tmp_path / f'{name}.onnx')
