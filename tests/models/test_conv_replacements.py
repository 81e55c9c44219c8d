"""Attention convolutions in the ResNet ``dcn=`` / ``stage_with_dcn=`` slot:
the Bottleneck builds its 3x3 conv2 with ``build_conv_layer(dcn, planes,
planes, kernel_size=3, stride=s, padding=d, dilation=d, bias=False)``.

SK convolution (SelectiveKernelConv) in detail; every registered conv
replacement in mmseg's and mmdet's ResNet-50.
"""
import pytest
import torch
from mmcv.cnn import build_conv_layer
from mmengine.registry import init_default_scope

import mmattn  # noqa: F401  (registers the mmattn.* names)
from mmattn.blocks import SelectiveKernelConv
from mmattn.blocks.catalog import plugin_kwargs
from mmattn.models.plugins import CONV_LAYERS
from helpers import build_resnet50

SK = 'mmattn.SelectiveKernelConv'


@pytest.mark.parametrize('scope', ['mmseg', 'mmdet', 'mmengine'])
def test_sk_resolves_as_a_conv_layer_under_every_scope(scope):
    """build_conv_layer looks the type up through the default scope's
    registry; the 'mmattn.' prefix reaches mmattn's child registry."""
    init_default_scope(scope)
    conv = build_conv_layer(dict(type=SK), 64, 128, kernel_size=3, stride=2,
                            padding=2, dilation=2, bias=False)
    assert type(conv) is SelectiveKernelConv
    assert conv.out_channels == 128 and conv.stride == 2
    assert [p.conv.dilation for p in conv.paths] == [(2, 2), (4, 4)]
    assert conv(torch.randn(2, 64, 9, 7)).shape == (2, 128, 5, 4)


def _conv2_types(model):
    return {name: type(m.conv2) for name in ('layer1', 'layer2', 'layer3',
                                             'layer4')
            for m in [getattr(model, name)[0]]}


@pytest.mark.parametrize('scope', ['mmseg', 'mmdet'])
def test_sk_in_resnet50_forward_backward(scope):
    torch.manual_seed(0)
    model = build_resnet50(scope, dcn=dict(type=SK),
                           stage_with_dcn=(False, True, False, True))
    plain = build_resnet50(scope)
    types = _conv2_types(model)
    assert types['layer1'] is torch.nn.Conv2d
    assert types['layer3'] is torch.nn.Conv2d
    for layer in (model.layer2, model.layer4):
        assert all(type(block.conv2) is SelectiveKernelConv
                   for block in layer)
    sk = model.layer2[0].conv2
    assert sk.stride == 2 and sk.in_channels == sk.out_channels == 128
    assert sk.paths[0].conv.groups == 32
    assert sk.hidden_channels == 32  # max(128 // 16, 32)
    assert model.layer4[0].conv2.hidden_channels == 32
    keys = set(model.state_dict())
    assert 'layer2.0.conv2.paths.1.conv.weight' in keys
    assert 'layer4.2.conv2.select.weight' in keys

    model.train()
    x = torch.randn(2, 3, 64, 64)
    outs = model(x)
    with torch.no_grad():
        plain.eval()
        plain_outs = plain(x)
    assert [o.shape for o in outs] == [o.shape for o in plain_outs]
    sum(o.mean() for o in outs).backward()
    sk_params = [(f'{layer}.{name}', p)
                 for layer in ('layer2', 'layer4')
                 for name, p in getattr(model, layer).named_parameters()
                 if '.conv2.' in name]
    assert len(sk_params) == (4 + 3) * (2 * 3 + 3 + 1)
    for name, p in sk_params:
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_sk_follows_the_backbone_dilation_in_mmseg_d8():
    """FCN R50-D8: strides (1, 2, 1, 1), dilations (1, 1, 2, 4) contracted
    (the first block of a dilated stage uses d / 2); the paths of each SK
    conv take the block's dilation d and 2d."""
    model = build_resnet50('mmseg', strides=(1, 2, 1, 1),
                           dilations=(1, 1, 2, 4), contract_dilation=True,
                           dcn=dict(type=SK),
                           stage_with_dcn=(False, False, True, True))

    def dilations(block):
        return [p.conv.dilation[0] for p in block.conv2.paths]

    assert dilations(model.layer3[0]) == [1, 2]
    assert all(dilations(block) == [2, 4] for block in list(model.layer3)[1:])
    assert dilations(model.layer4[0]) == [2, 4]
    assert dilations(model.layer4[2]) == [4, 8]
    model.eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape[2:]) for o in outs] == [(16, 16), (8, 8), (8, 8),
                                                  (8, 8)]


def test_sk_in_resnext_takes_its_groups():
    """mmdet's ResNeXt passes groups=32 (and its own widths) to conv2."""
    init_default_scope('mmdet')
    from mmdet.registry import MODELS
    model = MODELS.build(dict(type='ResNeXt', depth=50, groups=16,
                              base_width=4, dcn=dict(type=SK),
                              stage_with_dcn=(False, False, False, True)))
    sk = model.layer4[0].conv2
    assert type(sk) is SelectiveKernelConv
    assert sk.paths[0].conv.groups == 16 and sk.in_channels == 16 * 4 * 8


def test_fallback_on_stride_is_not_a_stride_rule():
    """mmdet/mmseg Bottlenecks pop ``fallback_on_stride`` from the dcn dict
    that every block of every dcn stage shares: with True only the first
    block built gets a plain conv (whatever its stride), the rest get the
    dcn type. SK handles stride itself: leave the key out (or False)."""
    model = build_resnet50('mmdet',
                           dcn=dict(type=SK, fallback_on_stride=True),
                           stage_with_dcn=(False, True, True, False))
    assert type(model.layer2[0].conv2) is torch.nn.Conv2d
    assert type(model.layer2[1].conv2) is SelectiveKernelConv
    assert type(model.layer3[0].conv2) is SelectiveKernelConv  # stride 2
    assert model.layer3[0].conv2.stride == 2
    model = build_resnet50('mmdet',
                           dcn=dict(type=SK, fallback_on_stride=False),
                           stage_with_dcn=(False, True, True, False))
    assert all(type(block.conv2) is SelectiveKernelConv
               for block in list(model.layer2) + list(model.layer3))


@pytest.mark.parametrize('kwargs, match', [
    (dict(kernel_size=3, padding=2, dilation=1), r'padding.* = 1.*got 2'),
    (dict(kernel_size=2), r'kernel_size.*odd.*got 2'),
    (dict(kernel_size=3, groups=3), r'groups must divide in_channels'),
])
def test_sk_refuses_conv_arguments_it_cannot_honour(kwargs, match):
    init_default_scope('mmdet')
    with pytest.raises(ValueError, match=match):
        build_conv_layer(dict(type=SK), 64, 64, **kwargs)


# ------------------------------------------------- every registered conv
@pytest.mark.parametrize('scope', ['mmseg', 'mmdet'])
@pytest.mark.parametrize('cls', CONV_LAYERS, ids=lambda c: c.__name__)
def test_every_conv_replacement_trains_in_resnet50(cls, scope):
    """Each ``role='conv'`` block as conv2 of layer3 and layer4: mmseg's
    ResNetV1c-D8 (dilations 2 and 4, stride 1) and mmdet's ResNet (stride
    2 in the first block of a stage); the output shapes are the plain
    backbone's, and a training step reaches every parameter of every
    replacement."""
    torch.manual_seed(0)
    d8 = dict(strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4),
              contract_dilation=True) if scope == 'mmseg' else {}
    dcn = dict(type=f'mmattn.{cls.__name__}', **plugin_kwargs(cls, True))
    model = build_resnet50(scope, dcn=dcn,
                           stage_with_dcn=(False, False, True, True), **d8)
    plain = build_resnet50(scope, **d8)
    replaced = [b.conv2 for b in list(model.layer3) + list(model.layer4)]
    assert len(replaced) == 9 and all(type(c) is cls for c in replaced)
    assert replaced[0].stride == (1 if scope == 'mmseg' else 2)
    model.train()
    x = torch.randn(2, 3, 48, 48)
    outs = model(x)
    plain.eval()
    with torch.no_grad():
        assert [o.shape for o in outs] == [o.shape for o in plain(x)]
    sum(o.square().mean() for o in outs).backward()
    for i, conv in enumerate(replaced):
        for name, p in conv.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, (i, name)
