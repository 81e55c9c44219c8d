"""mmattn blocks as mmcv plugin layers in mmseg's and mmdet's ResNet: every
block the catalog registers (``role='plugin'``: channel/spatial attention and
the global-context blocks) and the conv replacements (``role='conv'``) used
as shape-preserving plugins.

The autouse fixture of tests/conftest.py resets mmengine's default scope and
singletons around every test.
"""
import pytest
import torch
from mmengine.registry import init_default_scope

import mmattn  # noqa: F401  (registers the mmattn.* names)
from mmcv.cnn.bricks.plugin import infer_abbr

from mmattn.blocks import GatherExcite
from mmattn.blocks.catalog import plugin_kwargs
from mmattn.models.plugins import CONV_LAYERS, PLUGIN_BLOCKS

# type name -> (layer name, class, extra cfg), for every block the catalog
# registers (mmattn.blocks.catalog): its plugin_cfg with its small_cfg on top.
# The layer name is the class's _abbr_ (mmcv's snake case of the class name
# where it has none).
#
# Widths met: 64 (after_conv1/after_conv2 of layer1), 256 (after_conv3 of
# layer1), 1024 and 2048 (after_conv3 of layer3/layer4, mmdet test): every
# registered block must accept all four with its small_cfg. Maps: 16x16
# (layer1) down to 2x2 (layer4). The models run in eval mode with batch 1
# (INPUT): the blocks whose BN sees a pooled (N, C, 1, 1) map (BAM, SK,
# SIAU/IAU) would need a batch >= 2 in training only; the training test at
# the end runs layer4 with batch 2. The checks locate a plugin by module
# name (SimAM has no parameters).
BLOCKS = {
    cls.__name__: (infer_abbr(cls), cls, plugin_kwargs(cls, small=True))
    for cls in PLUGIN_BLOCKS + CONV_LAYERS
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


def test_every_registered_block_is_a_plugin_here():
    """The matrix is what MODELS holds under mmattn for blocks; layer names
    are distinct, so blocks stack at one position without clashing."""
    from mmattn.registry import MODELS
    for name, (abbr, cls, _) in BLOCKS.items():
        assert MODELS.get(name) is cls
        assert abbr.isidentifier()
    abbrs = [abbr for abbr, _, _ in BLOCKS.values()]
    assert len(abbrs) == len(set(abbrs))
    from_blocks = {name for name, cls in MODELS.module_dict.items()
                   if cls.__module__.startswith('mmattn.blocks.')}
    assert from_blocks == set(BLOCKS)


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


# after_conv1 and after_conv2 of layer1 give a block the same input (64
# channels, 16x16): every block at after_conv2 and after_conv3, one at all
# three (the position wiring is mmcv's).
MMSEG_CASES = [(name, position) for name in BLOCKS
               for position in ('after_conv2', 'after_conv3')] + [
                   ('SqueezeExcitation', 'after_conv1')]


@pytest.mark.parametrize('name, position', MMSEG_CASES)
def test_plugin_in_mmseg_resnet(name, position, plain_shapes):
    abbr, cls, kwargs = BLOCKS[name]
    plugins = [dict(cfg=dict(type=f'mmattn.{name}', **kwargs),
                    stages=(True, False, False, False), position=position)]
    model = _build('mmseg', plugins)
    # module names, not state-dict keys: a block may have no parameters
    keys = [f'{name}.' for name, _ in model.named_modules()]
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
    # module names, not state-dict keys: a block may have no parameters
    keys = [f'{name}.' for name, _ in model.named_modules()]
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


@pytest.mark.parametrize('name', list(BLOCKS))
def test_plugin_trains_inside_a_bottleneck(name):
    """Forward and backward in training mode at after_conv3 of layer4: the
    Bottleneck adds the shortcut to the plugin's output in place, which
    breaks autograd when the block's last op saved its output (a ReLU or a
    sigmoid) for the backward; found by the plugin benchmark on APNB."""
    abbr, cls, kwargs = BLOCKS[name]
    init_default_scope('mmdet')
    from mmdet.registry import MODELS
    model = MODELS.build(dict(
        type='ResNet', depth=50, out_indices=(3, ),
        plugins=[dict(cfg=dict(type=f'mmattn.{name}', **kwargs),
                      stages=(False, False, False, True),
                      position='after_conv3')]))
    model.train()
    x = torch.randn(2, 3, 64, 64)
    out = model(x)[0]
    out.square().mean().backward()
    block = getattr(model.layer4[0], abbr)
    assert all(p.grad is not None for p in block.parameters())
