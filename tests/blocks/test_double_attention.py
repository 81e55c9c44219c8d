"""DoubleAttention (A2-Nets) against its formula written out in plain
torch."""
import pytest
import torch
from reference_formulas import pointwise, softmax

import mmattn  # noqa: F401  (registers the mmattn.* names)
from mmattn.blocks import DoubleAttention
from helpers import (assert_deterministic, assert_gradients_match,
                      assert_input_shape_checked, assert_matches_reference,
                      build_resnet50, export_opset17_and_check, randomise)

SHAPES = [(2, 16, 7, 5), (1, 16, 1, 1), (1, 16, 3, 9), (3, 16, 16, 8),
          (2, 16, 9, 13)]


# ---------------------------------------------------------------- references
def pointwise_positions(conv, x):
    """A 1x1 conv of (N, C_in, H, W) as (N, C_out, H * W)."""
    return pointwise(conv, x).flatten(2)


def reference_a2(block, x):
    """Chen et al.: g_j = sum_p A[:, p] softmax_p(B_j)[p];
    z[:, p] = sum_j g_j softmax_j(V[:, p])[j]; out = x + recon(z)."""
    n, c, h, w = x.shape
    a = pointwise_positions(block.phi, x)  # (N, c_m, P)
    b = softmax(pointwise_positions(block.theta, x), dim=2)  # over positions
    v = softmax(pointwise_positions(block.rho, x), dim=1)  # over descriptors
    descriptors = [(a * b[:, j:j + 1]).sum(dim=2)
                   for j in range(block.num_descriptors)]  # (N, c_m) each
    z = sum(descriptors[j][:, :, None] * v[:, j:j + 1]
            for j in range(block.num_descriptors))
    z = z.view(n, block.hidden_channels, h, w)
    return x + pointwise(block.recon, z)


BLOCKS = {
    'a2': (lambda c: DoubleAttention(c), reference_a2),
    'a2_wide': (lambda c: DoubleAttention(c, hidden_channels=6,
                                          num_descriptors=3), reference_a2),
}


@pytest.mark.reference(blocks=[DoubleAttention])
@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('name', list(BLOCKS))
def test_matches_formula(name, shape):
    assert_matches_reference(*BLOCKS[name], shape, rtol=1e-5,
                             atol=1e-5)


@pytest.mark.parametrize('shape', [(3, 16, 9, 7), (2, 16, 16, 8)])
@pytest.mark.parametrize('name', list(BLOCKS))
def test_gradients_match_and_reach_every_parameter(name, shape):
    assert_gradients_match(*BLOCKS[name], shape,
                           dict(rtol=1e-5, atol=1e-6), double=True)


def test_a2_structure_and_defaults():
    block = DoubleAttention(64)
    assert block.hidden_channels == block.num_descriptors == 16
    assert block.theta.bias is None  # a constant cancels in the softmax
    assert set(block.state_dict()) == {
        'phi.weight', 'phi.bias', 'theta.weight', 'rho.weight', 'rho.bias',
        'recon.weight', 'recon.bias'}
    assert DoubleAttention(4).hidden_channels == 1
    block = DoubleAttention(2, hidden_channels=3, num_descriptors=5)
    assert (block.hidden_channels, block.num_descriptors) == (3, 5)


def test_a2_starts_as_identity_and_learns():
    torch.manual_seed(0)
    block = DoubleAttention(16)
    x = torch.randn(2, 16, 5, 7)
    assert torch.equal(block(x), x)
    block(x).square().sum().backward()
    assert block.recon.weight.grad.abs().sum() > 0
    assert not DoubleAttention(16, zero_init=False).recon.weight.eq(0).all()


@pytest.mark.parametrize('scope', ['mmseg', 'mmdet'])
def test_a2_identity_survives_backbone_init_weights(scope):
    """ResNet's init_cfg re-initialises every Conv2d (Kaiming); the block's
    init_weights, called after it, zeroes recon again."""
    model = build_resnet50(scope, plugins=[dict(
        cfg=dict(type='mmattn.DoubleAttention'),
        stages=(False, False, False, True), position='after_conv3')])
    model.eval()
    torch.nn.init.ones_(model.layer4[0].a2.recon.weight)
    model.init_weights()
    for block in model.layer4:
        assert torch.all(block.a2.recon.weight == 0)
        assert torch.all(block.a2.recon.bias == 0)
        assert block.a2.phi.weight.std() > 0


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_a2_autocast_large_inputs_stay_finite(dtype):
    torch.manual_seed(0)
    block = randomise(DoubleAttention(16))
    x = 1e2 * torch.randn(2, 16, 9, 7)
    with torch.autocast(device_type='cpu', dtype=dtype):
        out = block(x)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out.float(), block(x), rtol=0.05, atol=5.0)


def test_deterministic_mode():
    assert_deterministic(BLOCKS)


A2 = DoubleAttention


@pytest.mark.parametrize('cls, kwargs, match', [
    (A2, dict(in_channels=0), r'in_channels.*got 0'),
    (A2, dict(in_channels=2), r'reduction.*<= in_channels \(2\).*got 4'),
    (A2, dict(in_channels=16, reduction=0), r'reduction.*got 0'),
    (A2, dict(in_channels=16, hidden_channels=0), r'hidden_channels.*got 0'),
    (A2, dict(in_channels=16, num_descriptors=2.0),
     r'num_descriptors.*got 2\.0'),
])
def test_bad_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


def test_a2_zero_init_must_be_a_bool():
    with pytest.raises(TypeError, match=r'zero_init.*bool.*got 1'):
        DoubleAttention(16, zero_init=1)


@pytest.mark.parametrize('name', ['a2'])
def test_bad_input_shape(name):
    assert_input_shape_checked(BLOCKS[name][0](16), 16, 8)


@pytest.mark.filterwarnings('ignore')
@pytest.mark.parametrize('name', list(BLOCKS))
def test_onnx_export_opset17_dynamic_hw(name, tmp_path):
    torch.manual_seed(0)
    block = randomise(BLOCKS[name][0](16)).eval()
    export_opset17_and_check(block, tmp_path / f'{name}.onnx')
