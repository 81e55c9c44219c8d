"""mmattn blocks as mmcv plugin layers in mmseg's and mmdet's ResNet: every
block of ``mmattn.models.plugins.PLUGIN_BLOCKS`` (channel/spatial attention
and the global-context blocks) and the two conv replacements of
``CONV_LAYERS`` used as shape-preserving plugins.

The autouse fixture of tests/conftest.py resets mmengine's default scope and
singletons around every test.
"""
import pytest
import torch
from mmengine.registry import init_default_scope

import mmattn  # noqa: F401  (registers the mmattn.* names)
from mmcv.cnn.bricks.plugin import infer_abbr

from mmattn.blocks import (CBAM, AsymmetricPyramidNonLocal,
                           BottleneckAttention, ChannelAttention,
                           ChannelInteractionUnit, CrissCrossAttention,
                           DoubleAttention, EfficientChannelAttention,
                           GatherExcite, GlobalContext,
                           GlobalSecondOrderPooling,
                           InteractionAggregationUpdate,
                           MultiSpectralChannelAttention, NonLocal,
                           PositionAttention, RelationAwareAttention,
                           ResidualAttention, SalientPositionAttention,
                           SelectiveKernelConv, SelfAdaptivePoolingAttention,
                           SpatialChannelSqueezeExcitation,
                           SpatialInteractionUnit, SpatialPyramidAttention,
                           SqueezeExcitation, StandAloneSelfAttentionConv)
from mmattn.models.plugins import CONV_LAYERS, PLUGIN_BLOCKS

# type name -> (layer name, class, extra cfg); every variant here has
# parameters, which the state-dict checks below look for. The layer name is
# the class's _abbr_ (mmcv's snake case of the class name where it has none).
#
# Widths met: 64 (after_conv1/after_conv2 of layer1), 256 (after_conv3 of
# layer1), 1024 and 2048 (after_conv3 of layer3/layer4, mmdet test). Every
# block below accepts all four: FcaNet needs C % 16 == 0 (its 16 frequency
# groups), SK C % 32 == 0 (groups=32), SASA C % 16 == 0 (8 heads of an even
# width), the others C >= 8. Maps: 16x16 (layer1) down to 2x2 (layer4).
# The models run in eval mode with batch 1 (INPUT): the blocks whose BN sees a
# pooled (N, C, 1, 1) map (BAM, SK, SIAU/IAU) would need a batch >= 2 in
# training only.
BLOCKS = {
    # channel / spatial attention
    'SqueezeExcitation': ('se', SqueezeExcitation, {}),
    'EfficientChannelAttention': ('eca', EfficientChannelAttention, {}),
    'CBAM': ('cbam', CBAM, {}),
    'SelfAdaptivePoolingAttention': ('spe', SelfAdaptivePoolingAttention, {}),
    'SpatialChannelSqueezeExcitation': ('scse',
                                        SpatialChannelSqueezeExcitation, {}),
    # theta-plus: layer1 is 16x16 for a 64x64 input, gathered to 2x2
    'GatherExcite': ('ge', GatherExcite,
                     dict(extent=8, extra_params=True, use_mlp=True)),
    'SpatialPyramidAttention': ('pyramid', SpatialPyramidAttention, {}),
    'BottleneckAttention': ('bam', BottleneckAttention, {}),
    'DoubleAttention': ('a2', DoubleAttention, {}),
    'MultiSpectralChannelAttention': ('fca', MultiSpectralChannelAttention,
                                      {}),
    # d = 16 instead of 128: small row-wise convs
    'GlobalSecondOrderPooling': ('gsop', GlobalSecondOrderPooling,
                                 dict(cov_channels=16)),
    # a 4x4 grid (P = 16) instead of 16x16: the relation convs take 2P inputs
    'RelationAwareAttention': ('rga', RelationAwareAttention,
                               dict(spatial_size=4)),
    'ChannelInteractionUnit': ('ciau', ChannelInteractionUnit, {}),
    'SpatialInteractionUnit': ('siau', SpatialInteractionUnit, {}),
    'InteractionAggregationUpdate': ('iau', InteractionAggregationUpdate,
                                     {}),
    # the smallest module: mask only (one down-sampling), thin units
    'ResidualAttention': ('ra', ResidualAttention,
                          dict(num_downsamples=1, num_pre_units=0,
                               num_trunk_units=0, unit_reduction=16)),
    # global context
    'SalientPositionAttention': ('spa', SalientPositionAttention, {}),
    'PositionAttention': ('pam', PositionAttention, {}),
    'ChannelAttention': ('cam', ChannelAttention, {}),  # only gamma
    'NonLocal': ('nonlocal_block', NonLocal, dict(reduction=8)),
    'AsymmetricPyramidNonLocal': ('apnb', AsymmetricPyramidNonLocal,
                                  dict(project_channels=16)),
    # no _abbr_: mmcv names the layer after the class
    'CrissCrossAttention': ('criss_cross_attention', CrissCrossAttention,
                            {}),
    'GlobalContext': ('context_block', GlobalContext, dict(ratio=1. / 16)),
    # conv replacements (CONV_LAYERS), as plugins: stride 1, C in = out
    'SelectiveKernelConv': ('sk', SelectiveKernelConv, {}),
    'StandAloneSelfAttentionConv': ('sasa', StandAloneSelfAttentionConv, {}),
}
# Bottleneck channels of ResNet-50 layer1: planes 64, expansion 4
POSITION_CHANNELS = {'after_conv1': 64, 'after_conv2': 64, 'after_conv3': 256}
INPUT = (1, 3, 64, 64)


def _build(scope, plugins=None):
    init_default_scope(scope)
    if scope == 'mmseg':
        from mmseg.registry import MODELS
        cfg = dict(type='ResNetV1c', depth=50)
    else:
        from mmdet.registry import MODELS
        cfg = dict(type='ResNet', depth=50)
    cfg.update(norm_cfg=dict(type='BN'), plugins=plugins)
    model = MODELS.build(cfg)
    model.eval()  # ResNet.train() returns None: do not chain it
    return model


def test_blocks_cover_every_registered_plugin():
    """A block added to PLUGIN_BLOCKS or CONV_LAYERS without a row here
    fails; the layer names are mmcv's."""
    assert set(BLOCKS) == {b.__name__ for b in PLUGIN_BLOCKS + CONV_LAYERS}
    for name, (abbr, cls, _) in BLOCKS.items():
        assert cls.__name__ == name
        assert infer_abbr(cls) == abbr


@pytest.fixture(scope='module')
def plain_shapes():
    """Output shapes of the plain backbones, for comparison."""
    shapes = {}
    for scope in ('mmseg', 'mmdet'):
        model = _build(scope)
        with torch.no_grad():
            shapes[scope] = [o.shape for o in model(torch.randn(*INPUT))]
    return shapes


def _count_calls(model, cls):
    calls = []
    for m in model.modules():
        if isinstance(m, cls):
            m.register_forward_hook(
                lambda mod, inp, out: calls.append(
                    (mod, inp[0].shape, out.shape)))
    return calls


@pytest.mark.parametrize('position', list(POSITION_CHANNELS))
@pytest.mark.parametrize('name', list(BLOCKS))
def test_plugin_in_mmseg_resnet(name, position, plain_shapes):
    abbr, cls, kwargs = BLOCKS[name]
    plugins = [dict(cfg=dict(type=f'mmattn.{name}', **kwargs),
                    stages=(True, False, False, False), position=position)]
    model = _build('mmseg', plugins)
    keys = list(model.state_dict())
    # layer1 has 3 Bottlenecks; the other stages have no plugin
    assert {k.split('.')[1] for k in keys
            if k.startswith('layer1.') and f'.{abbr}.' in k} == {'0', '1', '2'}
    assert not [k for k in keys if f'.{abbr}.' in k
                and not k.startswith('layer1.')]
    block = model.layer1[0]
    assert getattr(block, f'{position}_plugin_names') == [abbr]
    plugin = getattr(block, abbr)
    assert type(plugin) is cls
    assert plugin.in_channels == POSITION_CHANNELS[position]

    calls = _count_calls(model, cls)
    with torch.no_grad():
        outs = model(torch.randn(*INPUT))
    assert [o.shape for o in outs] == plain_shapes['mmseg']
    assert len(calls) == 3
    for _, in_shape, out_shape in calls:
        assert in_shape == out_shape
        assert in_shape[1] == POSITION_CHANNELS[position]


@pytest.mark.parametrize('name', list(BLOCKS))
def test_plugin_in_mmdet_resnet(name, plain_shapes):
    abbr, cls, kwargs = BLOCKS[name]
    plugins = [dict(cfg=dict(type=f'mmattn.{name}', **kwargs),
                    stages=(False, False, True, True),
                    position='after_conv3')]
    model = _build('mmdet', plugins)
    keys = list(model.state_dict())
    assert any(k.startswith(f'layer3.0.{abbr}.') for k in keys)
    assert any(k.startswith(f'layer4.2.{abbr}.') for k in keys)
    assert not any(k.startswith(f'layer2.0.{abbr}.') for k in keys)
    assert model.layer4[0].after_conv3_plugin_names == [abbr]
    assert getattr(model.layer4[0], abbr).in_channels == 2048
    assert getattr(model.layer3[0], abbr).in_channels == 1024
    calls = _count_calls(model, cls)
    with torch.no_grad():
        outs = model(torch.randn(*INPUT))
    assert [o.shape for o in outs] == plain_shapes['mmdet']
    assert len(calls) == 6 + 3  # layer3 and layer4 blocks of ResNet-50


@pytest.mark.parametrize('scope', ['mmseg', 'mmdet'])
def test_two_plugins_stacked_at_one_position(scope, plain_shapes):
    plugins = [
        dict(cfg=dict(type='mmattn.SqueezeExcitation', postfix='1'),
             stages=(False, True, False, False), position='after_conv3'),
        dict(cfg=dict(type='mmattn.SqueezeExcitation', reduction=8,
                      postfix='2'),
             stages=(False, True, False, False), position='after_conv3'),
        dict(cfg=dict(type='mmattn.CBAM'),
             stages=(False, True, False, False), position='after_conv3'),
    ]
    model = _build(scope, plugins)
    block = model.layer2[0]
    assert block.after_conv3_plugin_names == ['se1', 'se2', 'cbam']
    assert block.se1.hidden_channels == 512 // 16
    assert block.se2.hidden_channels == 512 // 8
    keys = set(model.state_dict())
    assert {'layer2.0.se1.mlp.fc1.weight', 'layer2.0.se2.mlp.fc1.weight',
            'layer2.0.cbam.spatial_conv.weight'} <= keys

    order = []
    for name in block.after_conv3_plugin_names:
        getattr(block, name).register_forward_hook(
            lambda mod, inp, out, name=name: order.append(name))
    with torch.no_grad():
        outs = model(torch.randn(*INPUT))
    assert [o.shape for o in outs] == plain_shapes[scope]
    assert order == ['se1', 'se2', 'cbam']


def test_identical_plugins_without_postfix_are_refused():
    plugins = [dict(cfg=dict(type='mmattn.EfficientChannelAttention'),
                    stages=(True, False, False, False),
                    position='after_conv3')] * 2
    with pytest.raises(AssertionError, match='duplicate plugin eca'):
        _build('mmseg', plugins)


@pytest.mark.parametrize('scope', ['mmseg', 'mmdet'])
def test_cbam_zero_init_survives_backbone_init_weights(scope):
    plugins = [dict(cfg=dict(type='mmattn.CBAM'),
                    stages=(False, False, False, True),
                    position='after_conv3')]
    model = _build(scope, plugins)
    cbam = model.layer4[0].cbam
    torch.nn.init.ones_(cbam.spatial_norm.weight)
    model.init_weights()  # init_cfg: every BN weight 1, then the children
    assert torch.all(model.layer4[0].bn1.weight == 1)  # the init_cfg ran
    for block in model.layer4:
        assert torch.all(block.cbam.spatial_norm.weight == 0)


@pytest.mark.parametrize('scope', ['mmseg', 'mmdet'])
@pytest.mark.parametrize('extent', [None, 2])
def test_parameter_free_gather_excite_plugin(scope, extent, plain_shapes):
    """theta-minus has no parameters: the plain backbone's state dict."""
    plugins = [dict(cfg=dict(type='mmattn.GatherExcite', extent=extent),
                    stages=(True, True, True, True), position='after_conv2')]
    model = _build(scope, plugins)
    assert set(model.state_dict()) == set(_build(scope).state_dict())
    assert model.layer2[0].after_conv2_plugin_names == ['ge']
    calls = _count_calls(model, GatherExcite)
    with torch.no_grad():
        outs = model(torch.randn(*INPUT))
    assert [o.shape for o in outs] == plain_shapes[scope]
    assert len(calls) == 16  # 3 + 4 + 6 + 3 Bottlenecks
