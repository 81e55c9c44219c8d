"""scSE against its formula written out in plain torch."""
import pytest
import torch
from reference_formulas import channel_mlp

from mmattn.blocks import SpatialChannelSqueezeExcitation, SqueezeExcitation
from helpers import (assert_deterministic, assert_gradients_match,
                      assert_input_shape_checked, assert_matches_reference,
                      export_opset17_and_check, randomise)

SHAPES = [(2, 16, 7, 5), (1, 16, 1, 1), (1, 16, 3, 9), (3, 16, 16, 8),
          (2, 16, 9, 13)]


# ---------------------------------------------------------------- references
def reference_scse(block, x):
    """Roy et al.: x * a_c and x * a_s, combined by add / max / mul."""
    squeezed = x.mean(dim=(2, 3), keepdim=True)
    a_c = torch.sigmoid(channel_mlp(block.mlp, squeezed))
    w = block.spatial_conv.weight.view(1, -1, 1, 1)
    a_s = torch.sigmoid((x * w).sum(dim=1, keepdim=True)
                        + block.spatial_conv.bias.view(1, 1, 1, 1))
    xc, xs = x * a_c, x * a_s
    if block.fusion == 'add':
        return xc + xs
    if block.fusion == 'max':
        return torch.where(xc >= xs, xc, xs)
    return xc * a_s


BLOCKS = {
    'scse_add': (lambda c: SpatialChannelSqueezeExcitation(c, reduction=4),
                 reference_scse),
    'scse_max_r2': (lambda c: SpatialChannelSqueezeExcitation(
        c, reduction=2, fusion='max'), reference_scse),
    'scse_mul': (lambda c: SpatialChannelSqueezeExcitation(c, fusion='mul'),
                 reference_scse),
}


# ------------------------------------------------------------------ formulas
@pytest.mark.reference(blocks=[SpatialChannelSqueezeExcitation])
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


def test_scse_structure_and_channel_gate_is_se():
    block = SpatialChannelSqueezeExcitation(64)
    assert block.hidden_channels == 4
    assert set(block.state_dict()) == {
        'mlp.fc1.weight', 'mlp.fc1.bias', 'mlp.fc2.weight', 'mlp.fc2.bias',
        'spatial_conv.weight', 'spatial_conv.bias'}
    assert block.spatial_conv.weight.shape == (1, 64, 1, 1)
    assert block.fusion == 'add'
    se = SqueezeExcitation(64)
    se.load_state_dict({k: v for k, v in block.state_dict().items()
                        if k.startswith('mlp.')})
    x = torch.randn(2, 64, 5, 3)
    torch.testing.assert_close(x * block.channel_gate(x), se(x))


def test_scse_fusions_differ():
    torch.manual_seed(0)
    x = torch.randn(2, 16, 5, 6)
    outs = []
    for fusion in ('add', 'max', 'mul'):
        torch.manual_seed(1)
        outs.append(SpatialChannelSqueezeExcitation(16, 4, fusion)(x))
    assert not torch.allclose(outs[0], outs[1])
    assert not torch.allclose(outs[1], outs[2])


# ------------------------------------------------------------ determinism
def test_deterministic_mode():
    assert_deterministic(BLOCKS)


# ------------------------------------------------------------ bad arguments
S = SpatialChannelSqueezeExcitation


@pytest.mark.parametrize('cls, kwargs, match', [
    (S, dict(in_channels=0), r'in_channels.*got 0'),
    (S, dict(in_channels=8), r'reduction.*<= in_channels.*16'),
    (S, dict(in_channels=8, reduction=0), r'reduction.*got 0'),
    (S, dict(in_channels=8, reduction=2, fusion='sum'),
     r"fusion.*one of \('add', 'max', 'mul'\).*got 'sum'"),
    (S, dict(in_channels=8, reduction=2, fusion=None), r'fusion.*got None'),
    (S, dict(in_channels=8, reduction=2, min_channels=0),
     r'min_channels.*got 0'),
])
def test_bad_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


@pytest.mark.parametrize('name', ['scse_add'])
def test_bad_input_shape(name):
    assert_input_shape_checked(BLOCKS[name][0](8), 8, 6, ndim=True)


# -------------------------------------------------------------------- ONNX
@pytest.mark.filterwarnings('ignore')
@pytest.mark.parametrize('name', ['scse_add', 'scse_max_r2', 'scse_mul'])
def test_onnx_export_opset17_dynamic_hw(name, tmp_path):
    """The TorchScript exporter (the one that writes opset 17 as asked)."""
    torch.manual_seed(0)
    block = randomise(BLOCKS[name][0](16)).eval()
    export_opset17_and_check(block, tmp_path / f'{name}.onnx')
