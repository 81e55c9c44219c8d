"""SK convolution, spatial pyramid attention and BAM against their formulas
written out in plain torch (loops and explicit softmax / batch norm)."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import init_default_scope

import mmattn  # noqa: F401  (registers the mmattn.* names)
from mmattn.blocks import (BottleneckAttention, SelectiveKernelConv,
                           SpatialPyramidAttention)
from conftest import (assert_deterministic, assert_matches_reference,
                      build_resnet50, export_opset17_and_check, randomise)

SHAPES = [(2, 16, 7, 5), (1, 16, 1, 1), (1, 16, 3, 9), (3, 16, 16, 8),
          (2, 16, 9, 13)]


# ---------------------------------------------------------------- references
def _batch_norm(bn, y):
    """BN by its formula: batch statistics in training, running in eval."""
    if bn.training:
        mean = y.mean(dim=(0, 2, 3), keepdim=True)
        var = y.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    else:
        mean = bn.running_mean.view(1, -1, 1, 1)
        var = bn.running_var.view(1, -1, 1, 1)
    return (y - mean) / torch.sqrt(var + bn.eps) * bn.weight.view(
        1, -1, 1, 1) + bn.bias.view(1, -1, 1, 1)


def _conv_module(layer, y, **conv_kwargs):
    """conv -> BN -> ReLU of an mmcv ConvModule, written out."""
    y = F.conv2d(y, layer.conv.weight, layer.conv.bias, **conv_kwargs)
    return F.relu(_batch_norm(layer.norm, y))


def _softmax(logits, dim):
    e = torch.exp(logits - logits.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=dim, keepdim=True)


def _bin_mean(x, i, j, s):
    """Mean of adaptive-pooling bin (i, j) of an s x s grid: rows
    floor(i H / s) .. ceil((i + 1) H / s) - 1, and the same for columns."""
    h, w = x.shape[2:]
    r0, r1 = (i * h) // s, math.ceil((i + 1) * h / s)
    c0, c1 = (j * w) // s, math.ceil((j + 1) * w / s)
    return x[:, :, r0:r1, c0:c1].mean(dim=(2, 3))


def reference_sk(block, x):
    """Li et al.: paths, U = sum, GAP, fc + BN + ReLU, path-major logits,
    softmax over paths, weighted sum."""
    m_paths, c = block.num_paths, block.out_channels
    paths = []
    for layer in block.paths:
        conv = layer.conv
        paths.append(_conv_module(layer, x, stride=conv.stride,
                                  padding=conv.padding,
                                  dilation=conv.dilation,
                                  groups=conv.groups))
    s = sum(paths).mean(dim=(2, 3))  # (N, C)
    fc = block.fuse
    z = F.linear(s, fc.conv.weight.flatten(1), fc.conv.bias)
    z = F.relu(_batch_norm(fc.norm, z[:, :, None, None]))[:, :, 0, 0]
    select = block.select.weight.flatten(1)  # (M * C, d)
    logits = torch.stack([F.linear(z, select[m * c:(m + 1) * c])
                          for m in range(m_paths)], dim=1)  # (N, M, C)
    a = _softmax(logits, dim=1)
    return sum(a[:, m, :, None, None] * paths[m] for m in range(m_paths))


def reference_pyramid(block, x):
    """Guo et al.: bins of 1, 2, 4 at index c * s^2 + i * s + j."""
    n, c = x.shape[:2]
    parts = []
    for s in block.pool_sizes:
        v = x.new_zeros(n, c * s * s)
        for i in range(s):
            for j in range(s):
                v[:, torch.arange(c) * s * s + i * s + j] = _bin_mean(
                    x, i, j, s)
        parts.append(v)
    v = torch.cat(parts, dim=1)
    a = torch.sigmoid(F.linear(F.relu(F.linear(v, block.mlp.fc1.weight)),
                               block.mlp.fc2.weight))
    return x * a[:, :, None, None]


def reference_bam(block, x):
    """Park et al.: x * (1 + sigmoid(Mc + Ms)) (or Mc * Ms, the code)."""
    fc1 = block.channel_fc1
    s = x.mean(dim=(2, 3))
    z = F.linear(s, fc1.conv.weight.flatten(1), fc1.conv.bias)
    z = F.relu(_batch_norm(fc1.norm, z[:, :, None, None]))[:, :, 0, 0]
    mc = F.linear(z, block.channel_fc2.weight.flatten(1),
                  block.channel_fc2.bias)[:, :, None, None]
    y = x
    for layer in block.spatial_convs:
        conv = layer.conv
        y = _conv_module(layer, y, padding=conv.padding,
                         dilation=conv.dilation)
    ms = (y * block.spatial_out.weight.view(1, -1, 1, 1)).sum(
        dim=1, keepdim=True) + block.spatial_out.bias.view(1, 1, 1, 1)
    m = mc + ms if block.combine == 'sum' else mc * ms
    return x * (1 + torch.sigmoid(m))


BLOCKS = {
    'sk': (lambda c: SelectiveKernelConv(c, groups=4, min_channels=8),
           reference_sk),
    'sk_m3_stride2': (lambda c: SelectiveKernelConv(
        c, 2 * c, stride=2, groups=8, num_paths=3, reduction=4),
        reference_sk),
    'sk_dilation2_k5': (lambda c: SelectiveKernelConv(
        c, 8, kernel_size=5, dilation=2, padding=4, groups=2), reference_sk),
    'pyramid': (lambda c: SpatialPyramidAttention(c, reduction=4),
                reference_pyramid),
    'pyramid_1_3': (lambda c: SpatialPyramidAttention(
        c, reduction=4, pool_sizes=(1, 3)),
                    reference_pyramid),
    'bam': (lambda c: BottleneckAttention(c, reduction=4), reference_bam),
    'bam_product': (lambda c: BottleneckAttention(
        c, reduction=2, dilation=2, num_dilated_convs=1, combine='product'),
        reference_bam),
}
ONNX_BLOCKS = ['sk', 'sk_m3_stride2', 'pyramid', 'bam', 'bam_product']


# ------------------------------------------------------------------ formulas
def _out_shape(block, shape):
    if not isinstance(block, SelectiveKernelConv):
        return shape
    s = block.stride
    return (shape[0], block.out_channels, (shape[2] - 1) // s + 1,
            (shape[3] - 1) // s + 1)


@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('name', list(BLOCKS))
def test_matches_formula(name, shape):
    assert_matches_reference(*BLOCKS[name], shape, rtol=1e-5, atol=1e-5,
                             out_shape=_out_shape)


@pytest.mark.parametrize('shape', [(3, 16, 9, 7), (2, 16, 16, 8)])
@pytest.mark.parametrize('name', list(BLOCKS))
def test_gradients_match_and_reach_every_parameter(name, shape):
    torch.manual_seed(0)
    make, reference = BLOCKS[name]
    # float64: BN over a few pooled values amplifies float32 rounding
    block = randomise(make(16)).train().double()  # BN on batch statistics
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    out = block(x)
    ref = reference(block, x2)
    torch.testing.assert_close(out, ref)
    out.square().sum().backward()
    grads = {n: p.grad.clone() for n, p in block.named_parameters()}
    block.zero_grad()
    ref.square().sum().backward()
    torch.testing.assert_close(x.grad, x2.grad)
    for n, p in block.named_parameters():
        # DDP without find_unused_parameters needs every one used
        assert grads[n].abs().sum() > 0, n
        torch.testing.assert_close(grads[n], p.grad, msg=n)


# ----------------------------------------------------------------------- SK
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


# ---------------------------------------------------------------------- SPA
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


# ---------------------------------------------------------------------- BAM
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


@pytest.mark.parametrize('make, arg', [
    (lambda: BottleneckAttention(16, reduction=4), 'norm_cfg'),
    (lambda: SelectiveKernelConv(16, groups=4, min_channels=8),
     'fc_norm_cfg'),
])
def test_batch_size_one_in_training(make, arg):
    block = make().train()
    x = torch.randn(1, 16, 6, 5)
    with pytest.raises(ValueError,
                       match=rf'{arg} gives a BatchNorm2d.*batch size 1'):
        block(x)
    block.eval()
    assert block(x).shape[:2] == (1, 16)  # running statistics: fine


def test_batch_size_one_in_training_with_group_norm():
    x = torch.randn(1, 16, 6, 5)
    gn = dict(type='GN', num_groups=2)
    bam = BottleneckAttention(16, reduction=4, norm_cfg=gn).train()
    assert bam(x).shape == x.shape
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
SPA = SpatialPyramidAttention
BAM = BottleneckAttention


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
    (SPA, dict(in_channels=0), r'in_channels.*got 0'),
    (SPA, dict(in_channels=8), r'reduction.*<= in_channels.*16'),
    (SPA, dict(in_channels=16, pool_sizes=(1, 0)), r'pool_sizes.*got 0'),
    (SPA, dict(in_channels=16, pool_sizes=()), r'pool_sizes.*got \(\)'),
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


def test_sk_bias_must_be_a_bool():
    with pytest.raises(TypeError, match=r"bias must be a bool, got 'no'"):
        SelectiveKernelConv(64, bias='no')


@pytest.mark.parametrize('name', ['sk', 'pyramid', 'bam'])
def test_bad_input_shape(name):
    block = BLOCKS[name][0](16).eval()
    with pytest.raises(ValueError, match=r'\(N, 16, H, W\).*\(1, 8, 4, 4\)'):
        block(torch.randn(1, 8, 4, 4))
    with pytest.raises(ValueError, match=r'\(N, 16, H, W\)'):
        block(torch.randn(16, 4, 4))


# ----------------------------------------------------------------- plugins
def _resnet50(scope, plugins):
    model = build_resnet50(scope, plugins=plugins)
    model.eval()  # ResNet.train() returns None: do not chain it
    return model


@pytest.mark.parametrize('scope', ['mmseg', 'mmdet'])
def test_as_plugins_after_conv3_in_resnet50(scope):
    plugins = [
        dict(cfg=dict(type='mmattn.SpatialPyramidAttention'),
             stages=(True, False, False, True), position='after_conv3'),
        dict(cfg=dict(type='mmattn.BottleneckAttention'),
             stages=(True, True, False, False), position='after_conv3'),
    ]
    model = _resnet50(scope, plugins)
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
@pytest.mark.parametrize('name', ONNX_BLOCKS)
def test_onnx_export_opset17_dynamic_hw(name, tmp_path):
    torch.manual_seed(0)
    block = randomise(BLOCKS[name][0](16)).eval()
    export_opset17_and_check(block, tmp_path / f'{name}.onnx')


@pytest.mark.parametrize('pool_sizes, match', [
    ((1, 0), r'every entry of pool_sizes must be a positive int, got 0'),
    ((), r'pool_sizes must be a non-empty tuple'),
    (4, r'pool_sizes must be a non-empty tuple'),
])
def test_pool_sizes_errors_name_the_argument(pool_sizes, match):
    with pytest.raises(ValueError, match=match):
        SpatialPyramidAttention(16, pool_sizes=pool_sizes)
