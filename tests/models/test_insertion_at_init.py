"""What inserting a block does to a pretrained ResNet-50 at step 0
(mmattn/benchmark/insertion.py, the catalog's ``identity_init``): a block
declared to start as the identity leaves every stage output unchanged bit
for bit; every other plugin changes them; docs/pretrained.md shows the
table the tool wrote."""
import json
import os.path as osp

import pytest
import torch
from helpers import ROOT

from mmattn.benchmark.insertion import (format_insertion_table,
                                        insertion_rows, pretrained_standin,
                                        stage_outputs)
from mmattn.blocks.catalog import (check_declaration, plugin_kwargs,
                                   registered_blocks)

PLUGINS = registered_blocks('plugin')
IDENTITY = [c for c in PLUGINS if getattr(c, 'identity_init', None)
            is not None]
OTHERS = [c for c in PLUGINS if c not in IDENTITY]
JSON = osp.join(ROOT, 'docs', 'pretrained', 'insertion_at_init.json')


@pytest.fixture(scope='module')
def standin(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('resnet50') / 'resnet50.pth')
    torch.save(pretrained_standin(), path)
    return path, stage_outputs(path)


@pytest.mark.parametrize('cls', IDENTITY, ids=lambda c: c.__name__)
def test_identity_start_leaves_the_pretrained_network_bit_for_bit(
        standin, cls):
    path, plain = standin
    plugin = dict(type=f'mmattn.{cls.__name__}',
                  **plugin_kwargs(cls, small=True, identity=True))
    inserted = stage_outputs(path, plugin)
    for stage, (a, b) in enumerate(zip(plain, inserted)):
        assert torch.equal(a, b), f'stage {stage + 1}'


def test_other_plugins_change_the_network(standin):
    """The declaration is honest: a plugin without ``identity_init`` does
    change the pretrained features at step 0 (with its plugin_cfg)."""
    rows = insertion_rows(standin[0], size=64, small=True, blocks=OTHERS)
    for row in rows:
        assert min(row['default']) > 1e-3, row['block']
        assert 'identity' not in row


def test_identity_options_are_declared_where_the_block_offers_one():
    assert {c.__name__ for c in IDENTITY} >= {
        'PositionAttention', 'ChannelAttention', 'CrissCrossAttention',
        'GlobalContext', 'NonLocal', 'SalientPositionAttention',
        'EfficientAttention', 'BilinearAttentionTransform',
        'ExternalAttention', 'DoubleAttention'}
    with pytest.raises(ValueError, match='SqueezeExcitation has no '
                       'identity start'):
        plugin_kwargs(next(c for c in PLUGINS
                           if c.__name__ == 'SqueezeExcitation'),
                      identity=True)


def test_a_bad_declaration_is_refused():
    class Gate(torch.nn.Module):
        role = 'plugin'
        identity_init = True

        def __init__(self, in_channels):
            super().__init__()
    with pytest.raises(TypeError, match=r'Gate\.identity_init must be None '
                       r'or, for a plugin, a dict, got True'):
        check_declaration(Gate)


def test_docs_table_is_the_tools_output():
    """docs/pretrained.md holds the table of the tool's JSON, and the JSON
    has a row for every registered plugin with its current declaration."""
    with open(JSON) as f:
        data = json.load(f)
    rows = data['rows']
    assert [r['block'] for r in rows] == [c.__name__ for c in PLUGINS]
    for row, cls in zip(rows, PLUGINS):
        assert row['identity_init'] == getattr(cls, 'identity_init', None)
        if row['identity_init'] is not None:
            assert row['identity'] == [0.0] * 4
    docs = open(osp.join(ROOT, 'docs', 'pretrained.md')).read()
    assert format_insertion_table(rows) in docs
