"""MultiSpectralChannelAttention (FcaNet) against its formula written out
in plain torch and the authors' pool-then-filter form."""
import math

import pytest
import torch
import torch.nn.functional as F
from reference_formulas import bin_mean

import mmattn  # noqa: F401  (registers the mmattn.* names)
from mmattn.blocks import MultiSpectralChannelAttention
from mmattn.blocks.multi_spectral import TOP16_FREQUENCIES
from helpers import (assert_deterministic, assert_gradients_match,
                      assert_input_shape_checked, assert_matches_reference,
                      build_resnet50, export_opset17_and_check, randomise)

SHAPES = [(2, 16, 7, 5), (1, 16, 1, 1), (1, 16, 3, 9), (3, 16, 16, 8),
          (2, 16, 9, 13)]


# ---------------------------------------------------------------- references
def _dct(freq, pos, size):
    value = math.cos(math.pi * freq * (pos + 0.5) / size) / math.sqrt(size)
    return value * math.sqrt(2) if freq else value


def reference_fca(block, x):
    """Qin et al.: pool to (dct_h, dct_w), channel group k summed against
    the 2-D DCT basis of its frequency, bias-free MLP, sigmoid, scale."""
    n, c = x.shape[:2]
    dh, dw = block.dct_size
    groups = len(block.frequencies)
    per_group = c // groups
    y = x.new_zeros(n, c)
    for i in range(dh):
        for j in range(dw):
            pooled = bin_mean(x, i, j, dh, dw)  # (N, C)
            for k, (u, v) in enumerate(block.frequencies):
                weight = (_dct(u * (dh // 7), i, dh)
                          * _dct(v * (dw // 7), j, dw))
                part = slice(k * per_group, (k + 1) * per_group)
                y[:, part] = y[:, part] + weight * pooled[:, part]
    a = torch.sigmoid(F.linear(F.relu(F.linear(y, block.mlp.fc1.weight)),
                               block.mlp.fc2.weight))
    return x * a[:, :, None, None]


BLOCKS = {
    'fca': (lambda c: MultiSpectralChannelAttention(c, reduction=4),
            reference_fca),
    'fca_14x7_top4': (lambda c: MultiSpectralChannelAttention(
        c, dct_size=(14, 7), reduction=2,
        frequencies=TOP16_FREQUENCIES[:4]), reference_fca),
}


@pytest.mark.reference(blocks=[MultiSpectralChannelAttention])
@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('name', list(BLOCKS))
def test_matches_formula(name, shape):
    assert_matches_reference(*BLOCKS[name], shape, rtol=1e-5,
                             atol=1e-5)


@pytest.mark.parametrize('shape', [(3, 16, 9, 7), (2, 16, 16, 8)])
@pytest.mark.parametrize('name', list(BLOCKS))
def test_gradients_match_and_reach_every_parameter(name, shape):
    # the DCT buffer is built in float32: float64 runs carry its rounding
    assert_gradients_match(*BLOCKS[name], shape,
                           dict(rtol=1e-5, atol=1e-6), double=True)


def test_fca_structure():
    block = MultiSpectralChannelAttention(64)
    assert block.hidden_channels == 4 and block.dct_size == (7, 7)
    assert block.frequencies == TOP16_FREQUENCIES
    assert block.dct_filters.shape == (16, 7, 7)
    # fixed: a buffer outside the state dict
    assert set(block.state_dict()) == {'mlp.fc1.weight', 'mlp.fc2.weight'}
    assert [n for n, _ in block.named_buffers()] == ['dct_filters']
    assert block.mlp.fc1.bias is None and block.mlp.fc2.bias is None


def test_fca_dct_filters_are_orthonormal():
    """All 49 frequencies of a 7 x 7 grid form an orthonormal basis."""
    every = [(u, v) for u in range(7) for v in range(7)]
    block = MultiSpectralChannelAttention(49, reduction=7,
                                          frequencies=every)
    basis = block.dct_filters.flatten(1).double()
    torch.testing.assert_close(basis @ basis.t(),
                               torch.eye(49, dtype=torch.float64),
                               atol=1e-6, rtol=0)


def test_fca_lowest_frequency_is_scaled_gap():
    x = torch.randn(2, 16, 14, 14)
    block = MultiSpectralChannelAttention(16, dct_size=14,
                                          frequencies=[(0, 0)])
    torch.testing.assert_close(block.spectral_pool(x),
                               x.mean(dim=(2, 3)) * 14)


@pytest.mark.parametrize('size', [(56, 56), (40, 23), (5, 9)])
def test_fca_equals_pool_then_per_channel_filter(size):
    """The authors' form: adaptive average pool to 56 x 56 (none at that
    size), then a (C, 56, 56) filter, channel c using frequency c // 4 with
    indices scaled by 56 // 7 = 8."""
    torch.manual_seed(0)
    x = torch.randn(2, 64, *size, dtype=torch.float64)
    block = MultiSpectralChannelAttention(64, dct_size=56).double()
    h = torch.arange(56, dtype=torch.float64)
    filters = []
    for u, v in TOP16_FREQUENCIES:
        cu = torch.cos(math.pi * 8 * u * (h + 0.5) / 56) / math.sqrt(56)
        cv = torch.cos(math.pi * 8 * v * (h + 0.5) / 56) / math.sqrt(56)
        cu, cv = cu * (2**0.5 if u else 1), cv * (2**0.5 if v else 1)
        filters += [cu[:, None] * cv[None, :]] * 4
    pooled = F.adaptive_avg_pool2d(x, 56)
    expected = (pooled * torch.stack(filters)).sum(dim=(2, 3))
    # float32 buffer
    torch.testing.assert_close(block.spectral_pool(x), expected, rtol=1e-5,
                               atol=1e-6)


def test_deterministic_mode():
    assert_deterministic(BLOCKS)


FCA = MultiSpectralChannelAttention


@pytest.mark.parametrize('cls, kwargs, match', [
    (FCA, dict(in_channels=0), r'in_channels.*got 0'),
    (FCA, dict(in_channels=8), r'reduction.*<= in_channels.*16'),
    (FCA, dict(in_channels=24, reduction=2),
     r'in_channels.*divisible.*frequencies \(16\).*got 24'),
    (FCA, dict(in_channels=16, dct_size=6), r'dct_size.*>= 7.*got 6'),
    (FCA, dict(in_channels=16, dct_size=(7, 0)),
     r'dct_size.*got \(7, 0\)'),
    (FCA, dict(in_channels=16, frequencies=[(0, 7)]),
     r'frequencies.*0 <= u, v < 7.*\(0, 7\)'),
    (FCA, dict(in_channels=16, frequencies=[]), r'frequencies.*got \(\)'),
])
def test_bad_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


@pytest.mark.parametrize('name', ['fca'])
def test_bad_input_shape(name):
    assert_input_shape_checked(BLOCKS[name][0](16), 16, 8)


# ----------------------------------------------------------------- plugins
@pytest.mark.parametrize('scope', ['mmseg', 'mmdet'])
def test_as_plugins_after_conv3_in_resnet50(scope):
    """FcaNet with the paper's DCT size per stage (56/28/14/7 at 224 x 224;
    the 64 x 64 input here is pooled up to it) and A2 in the last stages."""
    plugins = [
        dict(cfg=dict(type='mmattn.MultiSpectralChannelAttention',
                      dct_size=size),
             stages=tuple(i == stage for i in range(4)),
             position='after_conv3')
        for stage, size in enumerate((56, 28, 14, 7))
    ] + [dict(cfg=dict(type='mmattn.DoubleAttention'),
              stages=(False, False, True, True), position='after_conv3')]
    model = build_resnet50(scope, plugins=plugins)
    model.eval()  # ResNet.train() returns None: do not chain it
    assert model.layer1[0].after_conv3_plugin_names == ['fca']
    assert model.layer3[0].after_conv3_plugin_names == ['fca', 'a2']
    assert [layer[0].fca.dct_size for layer in (
        model.layer1, model.layer2, model.layer3, model.layer4)] == [
            (56, 56), (28, 28), (14, 14), (7, 7)]
    assert model.layer4[0].a2.in_channels == 2048
    keys = set(model.state_dict())
    assert {'layer1.0.fca.mlp.fc1.weight', 'layer4.2.a2.recon.weight'} <= keys
    assert not any('dct_filters' in k for k in keys)
    with torch.no_grad():
        x = torch.randn(1, 3, 64, 64)
        outs = model(x)
    assert [o.shape[1] for o in outs] == [256, 512, 1024, 2048]


@pytest.mark.filterwarnings('ignore')
@pytest.mark.parametrize('name', list(BLOCKS))
def test_onnx_export_opset17_dynamic_hw(name, tmp_path):
    torch.manual_seed(0)
    block = randomise(BLOCKS[name][0](16)).eval()
    export_opset17_and_check(block, tmp_path / f'{name}.onnx')


@pytest.mark.parametrize('dct_size', [(7, 7, 7), (7, ), 6, (7, 6.5)])
def test_dct_size_of_wrong_length_or_value_is_named(dct_size):
    with pytest.raises(ValueError, match='dct_size must be an int >= 7'):
        MultiSpectralChannelAttention(16, dct_size=dct_size)


@pytest.mark.parametrize('config', [
    'plugins/faster-rcnn_r50-fcanet_fpn_1x_coco.py',
    'plugins/fcn_r50-d8-fcanet_4xb2-80k_cityscapes-512x1024.py'])
def test_r50_configs_use_the_authors_dct_size_per_stage(config):
    """The authors size each stage's DCT to its map at 224 x 224 (56, 28,
    14, 7; their ``c2wh``), so on ImageNet no stage pools first. The
    configs give one plugin entry per stage with those sizes: at 224 x 224
    every block's input has its DCT size (pooling 56 -> 7, the old default,
    is another computation)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmattn.blocks import FCANET_AUTHORS_DCT_SIZES
    from helpers import config_path
    cfg = Config.fromfile(config_path(config))
    init_default_scope(cfg.default_scope)
    registry = __import__(f'{cfg.default_scope}.registry',
                          fromlist=['MODELS']).MODELS
    cfg.model.backbone.init_cfg = None
    backbone = registry.build(cfg.model.backbone)
    backbone.eval()  # (mmdet's ResNet.train returns None: no chaining)
    seen = {}
    for name, module in backbone.named_modules():
        if isinstance(module, MultiSpectralChannelAttention):
            module.register_forward_hook(
                lambda m, args, out, name=name: seen.update(
                    {name: (m.dct_size, tuple(args[0].shape[2:]))}))
    with torch.no_grad():
        backbone(torch.zeros(1, 3, 224, 224))
    assert len(seen) == 3 + 4 + 6 + 3
    for name, (dct_size, size) in seen.items():
        stage = int(name.split('.')[0][len('layer'):]) - 1
        expected = FCANET_AUTHORS_DCT_SIZES[stage]
        if 'fcn' in config and stage >= 2:
            expected_input = 28  # mmseg's D8 dilation keeps stride 8
        else:
            expected_input = expected
        assert dct_size == (expected, expected), name
        assert size == (expected_input, expected_input), name
