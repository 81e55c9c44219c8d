"""GlobalSecondOrderPooling (GSoP-Net) against its formula written out in
plain torch (an explicit centring matrix and row-wise convolution)."""
import pytest
import torch
import torch.nn.functional as F
from block_checks import check_plugin_in_resnet
from reference_formulas import batch_norm, conv_module

import mmattn  # noqa: F401  (registers the mmattn.* names)
from mmattn.blocks import GlobalSecondOrderPooling
from helpers import (assert_bf16_autocast_close, assert_deterministic,
                      assert_gradients_match, assert_input_shape_checked,
                      assert_matches_reference, export_opset17_and_check,
                      randomise)

SHAPES = [(2, 16, 7, 5), (1, 16, 1, 1), (1, 16, 3, 9), (3, 16, 3, 5),
          (2, 16, 9, 13)]


# ---------------------------------------------------------------- references
def reference_gsop(block, x):
    """Gao et al.: relu -> 1x1 conv -> BN -> relu; Sigma = (1/M) X I_bar X^T
    with the M x M centring matrix I_bar = I - 11^T / M; BN over rows;
    row i -> 4 numbers by its own (d, 1) kernel; 1x1 conv; sigmoid."""
    n, c, h, w = x.shape
    z = conv_module(block.reduce, F.relu(x)).flatten(2)  # (N, d, M)
    m = h * w
    centring = torch.eye(m) - torch.ones(m, m) / m
    cov = z @ centring @ z.transpose(1, 2) / m  # (N, d, d)
    cov = batch_norm(block.row_norm, cov)  # dim 1 = rows
    d = block.hidden_channels
    e = block.expansion
    weight = block.row_conv.weight.view(d, e, d)  # [row, out, column]
    rows = torch.einsum('iej,nij->nie', weight, cov).reshape(n, d * e)
    rows = rows + block.row_conv.bias
    a = torch.sigmoid(rows @ block.fc.weight.flatten(1).t() + block.fc.bias)
    return x * a[:, :, None, None]


BLOCKS = {
    'gsop': (lambda c: GlobalSecondOrderPooling(c), reference_gsop),
    'gsop_d8_e2': (lambda c: GlobalSecondOrderPooling(
        c, hidden_channels=8, expansion=2), reference_gsop),
}


# ------------------------------------------------------------------ formulas
@pytest.mark.reference(blocks=[GlobalSecondOrderPooling])
@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('name', list(BLOCKS))
def test_matches_formula(name, shape):
    assert_matches_reference(*BLOCKS[name], shape, rtol=1e-4,
                             atol=1e-5)


@pytest.mark.parametrize('name', list(BLOCKS))
def test_gradients_match_and_reach_every_parameter(name):
    # a conv followed by a one-channel BN gets a gradient that is a
    # cancellation of much larger terms: compare on the scale of them all
    assert_gradients_match(
        *BLOCKS[name], (3, 16, 6, 7), dict(rtol=1e-4, atol=1e-5),
        param_tol=dict(rtol=1e-3, atol_scale=1e-5))


def test_gsop_structure():
    block = GlobalSecondOrderPooling(256)
    assert block.hidden_channels == 128  # the paper's d
    assert block.row_conv.groups == 128
    assert block.row_conv.weight.shape == (512, 1, 128, 1)
    assert block.fc.weight.shape == (256, 512, 1, 1)
    assert GlobalSecondOrderPooling(64).hidden_channels == 64  # d <= C


# ------------------------------------------------------- autocast, determinism
@pytest.mark.parametrize('name', ['gsop'])
def test_bf16_autocast_large_inputs_stay_finite(name):
    torch.manual_seed(0)
    assert_bf16_autocast_close(BLOCKS[name][0](16).eval())


def test_deterministic_mode():
    assert_deterministic(BLOCKS)


# ------------------------------------------------------------ bad arguments
G = GlobalSecondOrderPooling


@pytest.mark.parametrize('cls, kwargs, match', [
    (G, dict(in_channels=0), r'in_channels.*got 0'),
    (G, dict(in_channels=16, hidden_channels=32),
     r'hidden_channels.*<= in_channels \(16\).*got 32'),
    (G, dict(in_channels=16, hidden_channels=0), r'hidden_channels.*got 0'),
    (G, dict(in_channels=16, expansion=0), r'expansion.*got 0'),
])
def test_bad_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


@pytest.mark.parametrize('name', ['gsop'])
def test_bad_input_shape(name):
    assert_input_shape_checked(BLOCKS[name][0](16), 16, 8)


# ------------------------------------------------------------------ plugins
@pytest.mark.parametrize('scope', ['mmseg', 'mmdet'])
def test_plugin_in_resnet(scope):
    check_plugin_in_resnet(
        scope, dict(type='mmattn.GlobalSecondOrderPooling'), 'after_conv2',
        batch=1)


# -------------------------------------------------------------------- ONNX
@pytest.mark.filterwarnings('ignore')
@pytest.mark.parametrize('name', list(BLOCKS))
def test_onnx_export_opset17_dynamic_hw(name, tmp_path):
    torch.manual_seed(0)
    block = randomise(BLOCKS[name][0](16)).eval()
    export_opset17_and_check(block, tmp_path / f'{name}.onnx')
