"""Every block the catalog registers passes the same checks, and a new
block needs nothing but its file and one import line to be registered and
run through them (the throwaway-block test)."""
import textwrap

import pytest
import torch
from block_checks import (check_bf16_autocast, check_deterministic,
                          check_init_survives_resnet, check_onnx_dynamic_hw,
                          load_module_from, reference_marks)
from helpers import build_resnet50

import mmattn
from mmattn.blocks.catalog import (blocks_in, check_declaration,
                                   registered_blocks)
from mmattn.registry import MODELS

BLOCKS = registered_blocks()
IDS = [cls.__name__ for cls in BLOCKS]


def test_every_registered_block_has_a_reference_test():
    marked = reference_marks()
    missing = [cls.__name__ for cls in BLOCKS if cls not in marked]
    assert not missing, (
        f'registered blocks without a @pytest.mark.reference test: '
        f'{missing}')


@pytest.mark.filterwarnings('ignore')
@pytest.mark.parametrize('cls', BLOCKS, ids=IDS)
def test_onnx_export_dynamic_hw(cls, tmp_path):
    check_onnx_dynamic_hw(cls, tmp_path)


@pytest.mark.parametrize('cls', BLOCKS, ids=IDS)
def test_deterministic_mode(cls):
    check_deterministic(cls)


@pytest.mark.parametrize('cls', BLOCKS, ids=IDS)
def test_bf16_autocast(cls):
    check_bf16_autocast(cls)


@pytest.mark.parametrize('cls', BLOCKS, ids=IDS)
def test_special_init_survives_the_backbone_init(cls):
    check_init_survives_resnet(cls)


def test_salient_zero_init_survives_the_backbone_init():
    """The case that failed before the init rule: SPANet's zero_init was
    applied in __init__ only, and ResNet's init_cfg set the norm back to 1."""
    from mmattn.blocks import SalientPositionAttention
    model = build_resnet50('mmdet', plugins=[dict(
        cfg=dict(type='mmattn.SalientPositionAttention', zero_init=True),
        stages=(False, False, False, True), position='after_conv3')])
    model.init_weights()
    for m in model.modules():
        if isinstance(m, SalientPositionAttention):
            assert not m.W[1].weight.any() and not m.W[1].bias.any()


THROWAWAY = '''
import torch
from torch import nn


class ThrowawayGate(nn.Module):
    """x * sigmoid(w) per channel, w starting at zero."""

    role = 'plugin'
    label = 'Throwaway'
    _abbr_ = 'throwaway'

    def __init__(self, in_channels, zero_init=True):
        super().__init__()
        self.in_channels = in_channels
        self.zero_init = zero_init
        self.weight = nn.Parameter(torch.empty(1, in_channels, 1, 1))
        self.scale = nn.Conv2d(in_channels, in_channels, 1)
        self.init_weights()

    def init_weights(self):
        nn.init.zeros_(self.weight)
        if self.zero_init:
            nn.init.zeros_(self.scale.weight)
            nn.init.zeros_(self.scale.bias)

    def forward(self, x):
        return x * torch.sigmoid(self.weight) + self.scale(x)
'''


@pytest.mark.filterwarnings('ignore')
def test_a_new_block_file_is_registered_and_exercised(tmp_path, monkeypatch):
    """The recipe of docs/blocks.md: a block file plus one import line in
    mmattn/blocks/__init__.py (here: the name set on the package) is all.
    The block is then listed, registered and put through the checks every
    registered block gets, in a ResNet and alone."""
    path = tmp_path / 'throwaway.py'
    path.write_text(textwrap.dedent(THROWAWAY))
    module = load_module_from(str(path), 'mmattn_throwaway_block')
    cls = module.ThrowawayGate
    monkeypatch.setattr(mmattn.blocks, 'ThrowawayGate', cls, raising=False)
    assert cls in registered_blocks('plugin')
    assert cls not in registered_blocks('conv')

    from mmattn.models.plugins import register_blocks
    try:
        assert cls in register_blocks(mmattn.blocks)
        assert MODELS.get('mmattn.ThrowawayGate') is cls
        model = build_resnet50('mmseg', plugins=[dict(
            cfg=dict(type='mmattn.ThrowawayGate'),
            stages=(True, False, False, False), position='after_conv3')])
        assert model.layer1[0].after_conv3_plugin_names == ['throwaway']
        model.eval()
        with torch.no_grad():
            outs = model(torch.randn(1, 3, 32, 32))
        assert len(outs) == 4
        check_onnx_dynamic_hw(cls, tmp_path)
        check_deterministic(cls)
        check_bf16_autocast(cls)
        check_init_survives_resnet(cls)
        # without a reference test, the coverage test names it
        assert cls not in reference_marks()
    finally:
        MODELS._module_dict.pop('ThrowawayGate', None)


def test_a_block_that_breaks_init_rule_is_caught(tmp_path):
    """The init check fails for a block that zero-inits in __init__ only."""
    source = THROWAWAY.replace('        self.init_weights()\n', '''
        nn.init.zeros_(self.weight)
        nn.init.zeros_(self.scale.weight)
''').replace('    def init_weights(self):', '    def _unused(self):')
    path = tmp_path / 'broken.py'
    path.write_text(textwrap.dedent(source))
    cls = load_module_from(str(path), 'mmattn_broken_block').ThrowawayGate
    register = MODELS.register_module(module=cls)
    del register
    try:
        with pytest.raises(AssertionError, match='scale.weight'):
            check_init_survives_resnet(cls)
    finally:
        MODELS._module_dict.pop('ThrowawayGate', None)


@pytest.mark.parametrize('attrs, match', [
    (dict(role='neck'), r"Bad\.role must be one of \('plugin', 'conv'\)"),
    (dict(role='plugin', plugin_cfg=[1]), r'Bad\.plugin_cfg must be a dict'),
    (dict(role='plugin', label=''), r'Bad\.label must be a non-empty str'),
])
def test_bad_declarations_are_named(attrs, match):
    cls = type('Bad', (torch.nn.Module, ), dict(
        attrs, __init__=lambda self, in_channels: None))
    with pytest.raises(TypeError, match=match):
        check_declaration(cls)
    with pytest.raises(TypeError, match=match):
        blocks_in({'Bad': cls})


def test_a_block_must_take_in_channels_first():
    cls = type('NoChannels', (torch.nn.Module, ), dict(
        role='plugin', __init__=lambda self, channels: None))
    with pytest.raises(TypeError, match='in_channels first'):
        check_declaration(cls)
    with pytest.raises(ValueError, match="role must be one of"):
        blocks_in({}, role='neck')
