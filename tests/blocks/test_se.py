"""SqueezeExcitation against its formula written out in plain torch and
against mmdet's SELayer."""
import warnings

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from reference_formulas import linear_of

from mmattn.blocks import (CBAM, EfficientChannelAttention,
                           SqueezeExcitation)
from helpers import (assert_deterministic, assert_gradients_match,
                      assert_input_shape_checked, assert_matches_reference,
                      check_onnx_dynamic_hw, export_opset17_and_check,
                      randomise)

SHAPES = [(2, 32, 7, 5), (1, 32, 1, 1), (1, 32, 3, 9), (3, 32, 16, 8)]


# ---------------------------------------------------------------- references
def reference_se(block, x, act=F.relu, gate=torch.sigmoid):
    """torchvision-style SE: avgpool -> fc1 -> act -> fc2 -> gate -> scale."""
    s = x.mean(dim=(2, 3))  # (N, C)
    z = act(F.linear(s, *linear_of(block.mlp.fc1)))
    a = gate(F.linear(z, *linear_of(block.mlp.fc2)))
    return x * a[:, :, None, None]


BLOCKS = {
    'se': (lambda c: SqueezeExcitation(c, reduction=4), reference_se),
    'se_r16_min3': (lambda c: SqueezeExcitation(c, min_channels=3),
                    reference_se),
}


@pytest.mark.reference(blocks=[SqueezeExcitation])
@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('name', list(BLOCKS))
def test_matches_formula(name, shape):
    assert_matches_reference(*BLOCKS[name], shape, rtol=1e-5,
                             atol=1e-6)


@pytest.mark.parametrize('name', list(BLOCKS))
def test_gradients_match_and_reach_every_parameter(name):
    assert_gradients_match(
        *BLOCKS[name], (3, 16, 6, 5), dict(rtol=1e-5, atol=1e-6),
        param_tol=dict(rtol=1e-5, atol=1e-5))


def test_se_hidden_width_is_the_papers_rule():
    assert SqueezeExcitation(64).hidden_channels == 4  # timm would give 8
    assert SqueezeExcitation(2048).hidden_channels == 128
    assert SqueezeExcitation(24).hidden_channels == 1
    assert SqueezeExcitation(24, min_channels=8).hidden_channels == 8
    assert SqueezeExcitation(64).mlp.fc1.weight.shape == (4, 64, 1, 1)


@pytest.mark.parametrize('gate', ['Sigmoid', 'HSigmoid'])
def test_se_equals_mmdet_selayer(gate):
    from mmdet.models.layers import SELayer
    torch.manual_seed(0)
    gate_cfg = dict(type=gate)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # mmcv's HSigmoid warns on build
        theirs = SELayer(40, ratio=8,
                         act_cfg=(dict(type='ReLU'), gate_cfg)).eval()
        ours = SqueezeExcitation(40, reduction=8, gate_cfg=gate_cfg).eval()
    with torch.no_grad():
        for p in theirs.parameters():
            p.normal_()
    mapping = {'conv1.conv.': 'mlp.fc1.', 'conv2.conv.': 'mlp.fc2.'}
    state = {}
    for key, value in theirs.state_dict().items():
        prefix = key[:len('convN.conv.')]
        state[mapping[prefix] + key[len(prefix):]] = value
    ours.load_state_dict(state, strict=True)

    x = torch.randn(2, 40, 5, 7, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    out, ref = ours(x), theirs(x2)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
    if gate == 'HSigmoid':  # the gate must not saturate everywhere
        assert not torch.equal(out, x * 0) and not torch.equal(out, x)
    g = torch.randn_like(out)
    out.backward(g)
    ref.backward(g)
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ours.mlp.fc1.weight.grad,
                               theirs.conv1.conv.weight.grad)
    torch.testing.assert_close(ours.mlp.fc2.bias.grad,
                               theirs.conv2.conv.bias.grad)


def test_deterministic_mode():
    assert_deterministic({'se': BLOCKS['se']}, shape=(2, 9, 7),
                         forbid=('Pool', ))


@pytest.mark.parametrize('cls, kwargs, match', [
    (SqueezeExcitation, dict(in_channels=0), r'in_channels.*got 0'),
    (SqueezeExcitation, dict(in_channels=2.5), r'in_channels.*got 2\.5'),
    (SqueezeExcitation, dict(in_channels=True), r'in_channels.*got True'),
    (SqueezeExcitation, dict(in_channels=8, reduction=0), r'reduction.*got 0'),
    (SqueezeExcitation, dict(in_channels=8), r'reduction.*<= in_channels.*16'),
    (SqueezeExcitation, dict(in_channels=8, reduction=2, min_channels=0),
     r'min_channels.*got 0'),
])
def test_bad_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


def test_bad_input_shape():
    assert_input_shape_checked(BLOCKS['se'][0](8), 8, 6, ndim=True)


@pytest.mark.filterwarnings('ignore')
def test_onnx_export_opset17_dynamic_hw(tmp_path):
    """The TorchScript exporter: the one that writes opset 17 as asked."""
    torch.manual_seed(0)
    block = randomise(BLOCKS['se'][0](16)).eval()
    export_opset17_and_check(block, tmp_path / 'se.onnx')


@pytest.mark.filterwarnings('ignore')
def test_onnx_dynamo_export_dynamic_hw(tmp_path):
    """torch.export-based exporter (the default since torch 2.9), all three
    blocks in one graph. It implements opset >= 18 only: asked for 17 it
    fails to down-convert and keeps 18."""
    pytest.importorskip('onnxscript')
    torch.manual_seed(0)
    block = nn.Sequential(*[randomise(make(16)) for make in (
        SqueezeExcitation, EfficientChannelAttention,
        lambda c: CBAM(c, reduction=4))]).eval()
    path = tmp_path / 'all.onnx'
    h, w = torch.export.Dim('h', min=1, max=512), \
        torch.export.Dim('w', min=1, max=512)
    torch.onnx.export(block, (torch.randn(2, 16, 8, 8), ), str(path),
                      dynamo=True, opset_version=18, input_names=['x'],
                      dynamic_shapes={'input': {2: h, 3: w}})
    check_onnx_dynamic_hw(path, block)
