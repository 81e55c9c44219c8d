"""BottleneckAttention (BAM) against its formula written out in plain torch;
BAM and SPA as plugins in ResNet-50 and BAM between stages."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from reference_formulas import batch_norm, conv_module

import mmattn  # noqa: F401  (registers the mmattn.* names)
from mmattn.blocks import BottleneckAttention, SpatialPyramidAttention
from helpers import (assert_deterministic, assert_gradients_match,
                      assert_input_shape_checked, assert_matches_reference,
                      build_resnet50, export_opset17_and_check, randomise)

SHAPES = [(2, 16, 7, 5), (1, 16, 1, 1), (1, 16, 3, 9), (3, 16, 16, 8),
          (2, 16, 9, 13)]


# ---------------------------------------------------------------- references
def reference_bam(block, x):
    """Park et al.: x * (1 + sigmoid(Mc + Ms)) (or Mc * Ms, the code)."""
    fc1 = block.channel_fc1
    s = x.mean(dim=(2, 3))
    z = F.linear(s, fc1.conv.weight.flatten(1), fc1.conv.bias)
    z = F.relu(batch_norm(fc1.norm, z[:, :, None, None]))[:, :, 0, 0]
    mc = F.linear(z, block.channel_fc2.weight.flatten(1),
                  block.channel_fc2.bias)[:, :, None, None]
    y = x
    for layer in block.spatial_convs:
        conv = layer.conv
        y = conv_module(layer, y, padding=conv.padding,
                        dilation=conv.dilation)
    ms = (y * block.spatial_out.weight.view(1, -1, 1, 1)).sum(
        dim=1, keepdim=True) + block.spatial_out.bias.view(1, 1, 1, 1)
    m = mc + ms if block.combine == 'sum' else mc * ms
    return x * (1 + torch.sigmoid(m))


BLOCKS = {
    'bam': (lambda c: BottleneckAttention(c, reduction=4), reference_bam),
    'bam_product': (lambda c: BottleneckAttention(
        c, reduction=2, dilation=2, num_dilated_convs=1, combine='product'),
        reference_bam),
}


# ------------------------------------------------------------------ formulas
@pytest.mark.reference(blocks=[BottleneckAttention])
@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('name', list(BLOCKS))
def test_matches_formula(name, shape):
    assert_matches_reference(*BLOCKS[name], shape, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('shape', [(3, 16, 9, 7), (2, 16, 16, 8)])
@pytest.mark.parametrize('name', list(BLOCKS))
def test_gradients_match_and_reach_every_parameter(name, shape):
    # float64: BN over a few pooled values amplifies float32 rounding
    assert_gradients_match(*BLOCKS[name], shape, {}, double=True)


def test_bam_structure():
    block = BottleneckAttention(64)
    assert block.hidden_channels == 4 and block.combine == 'sum'
    convs = [layer.conv for layer in block.spatial_convs]
    assert [c.kernel_size for c in convs] == [(1, 1), (3, 3), (3, 3)]
    assert [c.dilation for c in convs] == [(1, 1), (4, 4), (4, 4)]
    assert [c.padding for c in convs] == [(0, 0), (4, 4), (4, 4)]
    assert block.spatial_out.weight.shape == (1, 4, 1, 1)
    assert block.channel_fc2.weight.shape == (64, 4, 1, 1)


def test_bam_combines_differ():
    torch.manual_seed(0)
    x = torch.randn(2, 16, 6, 5)
    block = randomise(BottleneckAttention(16, reduction=4)).eval()
    out_sum = block(x)
    block.combine = 'product'
    assert not torch.allclose(out_sum, block(x))
    # x * (1 + M) with M in (0, 1): between x and 2 x
    assert torch.all((out_sum / x > 1) & (out_sum / x < 2))


def test_batch_size_one_in_training():
    block = BottleneckAttention(16, reduction=4).train()
    x = torch.randn(1, 16, 6, 5)
    with pytest.raises(ValueError,
                       match=r'norm_cfg gives a BatchNorm2d.*batch size 1'):
        block(x)
    block.eval()
    assert block(x).shape[:2] == (1, 16)  # running statistics: fine


def test_batch_size_one_in_training_with_group_norm():
    x = torch.randn(1, 16, 6, 5)
    gn = dict(type='GN', num_groups=2)
    bam = BottleneckAttention(16, reduction=4, norm_cfg=gn).train()
    assert bam(x).shape == x.shape


# ------------------------------------------------------------ determinism
def test_deterministic_mode():
    assert_deterministic(BLOCKS)


# ------------------------------------------------------------ bad arguments
BAM = BottleneckAttention


@pytest.mark.parametrize('cls, kwargs, match', [
    (BAM, dict(in_channels=8), r'reduction.*<= in_channels.*16'),
    (BAM, dict(in_channels=16, dilation=0), r'dilation.*got 0'),
    (BAM, dict(in_channels=16, num_dilated_convs=0),
     r'num_dilated_convs.*got 0'),
    (BAM, dict(in_channels=16, combine='max'),
     r"combine.*one of \('sum', 'product'\).*got 'max'"),
])
def test_bad_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


@pytest.mark.parametrize('name', ['bam'])
def test_bad_input_shape(name):
    assert_input_shape_checked(BLOCKS[name][0](16).eval(), 16, 8, ndim=True)


# ----------------------------------------------------------------- plugins
@pytest.mark.parametrize('scope', ['mmseg', 'mmdet'])
def test_as_plugins_after_conv3_in_resnet50(scope):
    plugins = [
        dict(cfg=dict(type='mmattn.SpatialPyramidAttention'),
             stages=(True, False, False, True), position='after_conv3'),
        dict(cfg=dict(type='mmattn.BottleneckAttention'),
             stages=(True, True, False, False), position='after_conv3'),
    ]
    model = build_resnet50(scope, plugins=plugins)
    model.eval()  # ResNet.train() returns None: do not chain it
    assert model.layer1[0].after_conv3_plugin_names == ['pyramid', 'bam']
    assert model.layer4[2].after_conv3_plugin_names == ['pyramid']
    assert model.layer4[0].pyramid.in_channels == 2048
    assert model.layer2[3].bam.in_channels == 512
    keys = set(model.state_dict())
    assert {'layer1.0.pyramid.mlp.fc1.weight',
            'layer4.2.pyramid.mlp.fc2.weight',
            'layer2.3.bam.spatial_out.weight'} <= keys
    calls = []
    for m in model.modules():
        if isinstance(m, (SpatialPyramidAttention, BottleneckAttention)):
            m.register_forward_hook(
                lambda mod, inp, out: calls.append(inp[0].shape == out.shape))
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [256, 512, 1024, 2048]
    assert calls == [True] * (3 + 3 + 4 + 3)


def test_bam_between_stages_as_in_the_paper():
    """After layer1, layer2 and layer3 through BackboneWithBlocks."""
    init_default_scope('mmseg')
    from mmseg.registry import MODELS
    model = MODELS.build(dict(
        type='mmattn.BackboneWithBlocks',
        backbone=dict(type='ResNetV1c', depth=50),
        insert=[dict(after=['layer1', 'layer2', 'layer3'],
                     block=dict(type='mmattn.BottleneckAttention'))]))
    bams = [m for m in model.modules() if isinstance(m, BottleneckAttention)]
    assert [b.in_channels for b in bams] == [256, 512, 1024]
    model.train()
    outs = model(torch.randn(2, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [256, 512, 1024, 2048]
    sum(o.mean() for o in outs).backward()
    for bam in bams:
        assert all(p.grad is not None for p in bam.parameters())


# -------------------------------------------------------------------- ONNX
@pytest.mark.filterwarnings('ignore')
@pytest.mark.parametrize('name', ['bam', 'bam_product'])
def test_onnx_export_opset17_dynamic_hw(name, tmp_path):
    torch.manual_seed(0)
    block = randomise(BLOCKS[name][0](16)).eval()
    export_opset17_and_check(block, tmp_path / f'{name}.onnx')
