"""CBAM against the authors' formula written out in plain torch; its
zero-initialised spatial gate; light CBAM (timm's) against its formula."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from reference_formulas import batch_norm, linear_of

from mmattn.blocks import CBAM, LightCBAM
from helpers import (assert_deterministic, assert_gradients_match,
                      assert_input_shape_checked, assert_matches_reference,
                      export_opset17_and_check, randomise)

SHAPES = [(2, 32, 7, 5), (1, 32, 1, 1), (1, 32, 3, 9), (3, 32, 16, 8)]


# ---------------------------------------------------------------- references
def reference_cbam(block, x):
    """The authors' CBAM: shared MLP on avg and max, then [max, mean] map."""
    def mlp(v):
        return F.linear(F.relu(F.linear(v, *linear_of(block.mlp.fc1))),
                        *linear_of(block.mlp.fc2))

    avg = x.mean(dim=(2, 3))
    mx = x.flatten(2).max(dim=2).values
    x = x * torch.sigmoid(mlp(avg) + mlp(mx))[:, :, None, None]
    m = torch.stack([x.max(dim=1).values, x.mean(dim=1)], dim=1)
    y = F.conv2d(m, block.spatial_conv.weight,
                 padding=block.spatial_kernel // 2)
    if block.spatial_norm is not None:
        y = batch_norm(block.spatial_norm, y)
    return x * torch.sigmoid(y)


def reference_light_cbam(block, x):
    """timm's light CBAM: the MLP on (avg + max) / 2, then a 1 -> 1 conv on
    the (max + mean) / 2 map."""
    def mlp(v):
        return F.linear(F.relu(F.linear(v, *linear_of(block.mlp.fc1))),
                        *linear_of(block.mlp.fc2))

    pooled = (x.mean(dim=(2, 3)) + x.flatten(2).max(dim=2).values) / 2
    x = x * torch.sigmoid(mlp(pooled))[:, :, None, None]
    m = (x.max(dim=1).values + x.mean(dim=1))[:, None] / 2
    y = F.conv2d(m, block.spatial_conv.weight,
                 padding=block.spatial_kernel // 2)
    if block.spatial_norm is not None:
        y = batch_norm(block.spatial_norm, y)
    return x * torch.sigmoid(y)


BLOCKS = {
    'cbam': (lambda c: CBAM(c, reduction=4), reference_cbam),
    'cbam_k3_nonorm': (lambda c: CBAM(c, spatial_kernel=3, norm_cfg=None),
                       reference_cbam),
    'cbam_no_mlp_bias': (lambda c: CBAM(c, mlp_bias=False), reference_cbam),
    'light_cbam': (lambda c: LightCBAM(c, reduction=4),
                   reference_light_cbam),
    'light_cbam_k5_bias_nonorm': (lambda c: LightCBAM(
        c, reduction=4, spatial_kernel=5, mlp_bias=True, norm_cfg=None),
        reference_light_cbam),
}


def test_light_cbam_structure_is_timms():
    block = LightCBAM(64)
    assert block.spatial_conv.weight.shape == (1, 1, 7, 7)
    assert block.mlp.fc1.bias is None and block.mlp.fc2.bias is None
    assert block.spatial_norm.momentum == 0.1
    assert torch.all(block.spatial_norm.weight == 1)  # no zero init
    assert CBAM(64, mlp_bias=False).mlp.fc1.bias is None


@pytest.mark.reference(blocks=[CBAM, LightCBAM])
@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('name', list(BLOCKS))
def test_matches_formula(name, shape):
    assert_matches_reference(*BLOCKS[name], shape, rtol=1e-5,
                             atol=1e-6)


@pytest.mark.parametrize('name', list(BLOCKS))
def test_gradients_match_and_reach_every_parameter(name):
    # float32 sums in a different order (BN's batch statistics)
    assert_gradients_match(
        *BLOCKS[name], (3, 16, 6, 5), dict(rtol=1e-5, atol=1e-6),
        param_tol=dict(rtol=1e-5, atol=1e-5))


def test_cbam_hidden_width_is_the_papers_rule():
    assert CBAM(64).hidden_channels == 4


# ---------------------------------------------------------------- CBAM init
def test_cbam_spatial_gate_starts_at_half():
    torch.manual_seed(0)
    block = CBAM(16)
    assert torch.all(block.spatial_norm.weight == 0)
    assert block.spatial_norm.momentum == 0.01
    x = torch.randn(2, 16, 5, 6)
    for mode in (True, False):
        block.train(mode)
        gated = x * block.channel_gate(x)
        torch.testing.assert_close(block.spatial_gate(gated),
                                   torch.full((2, 1, 5, 6), 0.5))
        torch.testing.assert_close(block(x), 0.5 * gated)
    # the gate still learns: the norm weight gets a gradient
    block.train()
    block(x).sum().backward()
    assert block.spatial_norm.weight.grad.abs().sum() > 0

    nonorm = CBAM(16, norm_cfg=None)
    assert torch.all(nonorm.spatial_conv.weight == 0)
    torch.testing.assert_close(nonorm.spatial_gate(x),
                               torch.full((2, 1, 5, 6), 0.5))
    plain = CBAM(16, zero_init=False)
    assert torch.all(plain.spatial_norm.weight == 1)


def test_cbam_init_weights_reapplies_zero_init():
    block = CBAM(16)
    nn.init.ones_(block.spatial_norm.weight)  # what a ResNet init_cfg does
    block.init_weights()
    assert torch.all(block.spatial_norm.weight == 0)


def test_cbam_builds_other_norms():
    block = CBAM(16, norm_cfg=dict(type='GN', num_groups=1)).train()
    assert isinstance(block.spatial_norm, nn.GroupNorm)
    assert block(torch.randn(1, 16, 4, 4)).shape == (1, 16, 4, 4)


def test_deterministic_mode():
    assert_deterministic({'cbam': BLOCKS['cbam']}, shape=(2, 9, 7),
                         forbid=('Pool', ))


@pytest.mark.parametrize('cls, kwargs, match', [
    (CBAM, dict(in_channels=0), r'in_channels.*got 0'),
    (CBAM, dict(in_channels=8, reduction=-4), r'reduction.*got -4'),
    (CBAM, dict(in_channels=8, reduction=9), r'reduction.*<= in_channels.*9'),
    (CBAM, dict(in_channels=8, reduction=2, spatial_kernel=6),
     r'spatial_kernel.*odd.*got 6'),
    (CBAM, dict(in_channels=8, reduction=2, spatial_kernel=0),
     r'spatial_kernel.*got 0'),
    (LightCBAM, dict(in_channels=8, reduction=16),
     r'reduction.*<= in_channels.*16'),
    (LightCBAM, dict(in_channels=8, reduction=2, spatial_kernel=4),
     r'spatial_kernel.*odd.*got 4'),
])
def test_bad_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


def test_mlp_bias_must_be_a_bool():
    with pytest.raises(TypeError, match=r"mlp_bias must be a bool, got 1"):
        LightCBAM(16, mlp_bias=1)


def test_bad_input_shape():
    assert_input_shape_checked(BLOCKS['cbam'][0](8), 8, 6, ndim=True)


@pytest.mark.filterwarnings('ignore')
def test_onnx_export_opset17_dynamic_hw(tmp_path):
    """The TorchScript exporter: the one that writes opset 17 as asked."""
    torch.manual_seed(0)
    block = randomise(BLOCKS['cbam'][0](16)).eval()
    export_opset17_and_check(block, tmp_path / 'cbam.onnx')


def test_authors_init_is_the_default_and_can_be_turned_off():
    """Jongchan/attention-module's ResNet init: every bias zero (the MLP's),
    Kaiming-normal fan-out for the spatial conv (std sqrt(2 / (1 * k * k))
    = 0.202 for k = 7), the spatial BN weight zero. PyTorch's default draws
    the conv uniformly within 1 / sqrt(fan_in) = 0.101."""
    torch.manual_seed(0)
    authors = CBAM(64)
    assert not authors.mlp.fc1.bias.any() and not authors.mlp.fc2.bias.any()
    std = authors.spatial_conv.weight.std().item()
    assert 0.15 < std < 0.26
    assert not authors.spatial_norm.weight.any()
    plain = CBAM(64, authors_init=False)
    assert plain.mlp.fc1.bias.any()
    assert plain.spatial_conv.weight.abs().max() <= 98 ** -0.5
    # a ResNet's init_cfg (Kaiming fan-out on convs, constant 1 on norms,
    # biases 0) is followed by the block's own: the authors' init survives
    from helpers import build_resnet50
    model = build_resnet50('mmdet', plugins=[dict(
        cfg=dict(type='mmattn.CBAM'), stages=(False, False, False, True),
        position='after_conv3')])
    model.init_weights()
    blocks = [m for m in model.modules() if isinstance(m, CBAM)]
    assert blocks and all(not b.mlp.fc1.bias.any() for b in blocks)
    assert all(not b.spatial_norm.weight.any() for b in blocks)
