"""timm's attention ResNets as OpenMMLab ResNets with mmattn blocks.

timm publishes ImageNet weights for ResNets with attention in their
blocks. Where a timm architecture is an OpenMMLab ``ResNet``/``ResNeXt``
(mmseg's or mmdet's: same stem, same stages, same block layout) with an
mmattn block in a ResNet slot, its weights load into that backbone once
their keys are renamed. This module says which architectures map
(:data:`TIMM_RESNETS`), which do not and why (:data:`UNMAPPED`), builds
the backbone config (:func:`timm_backbone_cfg`) and renames the keys
(:func:`convert_timm_resnet`). It does not import timm:
``tools/model_converters/timm2mmattn.py`` builds the timm model and saves
the converted checkpoint.

The mapping, per part of the network:

- plain stem: ``conv1``/``bn1`` as they are; deep stem (timm's
  ``stem_type='deep'``, width 32, mmcv's ``deep_stem=True`` with
  ``stem_channels=64``): ``conv1.{0,1,3,4,6}`` -> ``stem.{0,1,3,4,6}``,
  ``bn1`` -> ``stem.7``;
- ``layer*.*.conv1..3``/``bn1..3`` and ``downsample.*`` as they are
  (timm's ``avg_down`` is mmcv's: pool, conv, norm at the same indices);
- the attention after ``bn3`` (timm's ``se`` slot) -> the mmcv plugin
  ``after_conv3`` (``se.fc1`` -> ``se.mlp.fc1``; ``se.conv`` ->
  ``eca.conv``);
- the attention convolution of ResNeSt and SK-ResNeXt -> the ``dcn=`` slot
  (conv2) with ``bn2`` removed (:func:`mmattn.BackboneWithBlocks`
  ``remove=``); SK's ``ConvNormAct`` keys ``conv1.conv``/``conv1.bn`` ->
  ``conv1``/``bn1`` (likewise conv3);
- ``fc.*``, the ImageNet classifier, is dropped.

Dilated variants (mmseg's D8: ``strides=(1, 2, 1, 1)``, ``dilations=(1, 1,
2, 4)``, ``contract_dilation=True``) compute what timm computes with
``output_stride=8``, except in the ``avg_down`` families: where a dilated
stage starts, mmcv's shortcut pools with a 1x1 window (no pooling) and
timm's with a 2x2 window at stride 1. The weights are the same.
"""
import re
from collections import OrderedDict
from dataclasses import dataclass

from ...blocks import SelectiveKernelConv, SqueezeExcitation

__all__ = ['TimmResNet', 'TIMM_RESNETS', 'UNMAPPED', 'timm_architecture',
           'timm_backbone_cfg', 'convert_timm_resnet']

_REMOVE_BN2 = r'layer\d+\.\d+\.bn2'


@dataclass(frozen=True)
class TimmResNet:
    """How one timm architecture maps onto an OpenMMLab ResNet.

    Attributes:
        depth (int): 50 or 101.
        deep_stem (bool): timm's ``stem_type='deep'`` (the "d" variants).
        avg_down (bool): average-pool shortcut (the "d" variants).
        groups (int): cardinality (ResNeXt: 32).
        base_width (int): ResNeXt width per group (4 for 32x4d).
        plugin (dict, optional): mmattn block after ``bn3`` (timm's ``se``
            slot), as an mmcv plugin config.
        conv (dict, optional): mmattn convolution in the ``dcn=`` slot
            (conv2 of every block), whose ``bn2`` is removed.
        tag (str): the pretrained tag timm loads by default, e.g.
            ``a1_in1k``: ``timm.create_model('seresnet50.a1_in1k',
            pretrained=True)``.
    """
    depth: int
    tag: str
    deep_stem: bool = False
    avg_down: bool = False
    groups: int = 1
    base_width: int = 64
    plugin: dict = None
    conv: dict = None


#: timm architecture -> its OpenMMLab form. Each name also takes timm's
#: pretrained tags (``seresnet50.ra2_in1k``).
TIMM_RESNETS = {
    'seresnet50': TimmResNet(
        50, 'a1_in1k', plugin=dict(type='mmattn.SqueezeExcitation')),
    'seresnext50_32x4d': TimmResNet(
        50, 'racm_in1k', groups=32, base_width=4,
        plugin=dict(type='mmattn.SqueezeExcitation')),
    'ecaresnet50d': TimmResNet(
        50, 'miil_in1k', deep_stem=True, avg_down=True,
        plugin=dict(type='mmattn.EfficientChannelAttention')),
    'ecaresnet101d': TimmResNet(
        101, 'miil_in1k', deep_stem=True, avg_down=True,
        plugin=dict(type='mmattn.EfficientChannelAttention')),
    'resnest50d': TimmResNet(
        50, 'in1k', deep_stem=True, avg_down=True,
        conv=dict(type='mmattn.SplitAttentionConv', radix=2,
                  avg_down_stride=True)),
    'skresnext50_32x4d': TimmResNet(
        50, 'ra_in1k', groups=32, base_width=4,
        conv=dict(type='mmattn.SelectiveKernelConv')),
}

_TIERED = ("timm's ByobNet with a 'tiered' stem (3x3 convs of 24, 32 and 64 "
           "channels; mmcv's deep stem is 32, 32, 64)")
#: timm attention ResNets that do not map, and why.
UNMAPPED = {
    'skresnet18': "split_input=True: each SK path sees a slice of the "
                  "input channels; mmattn's SelectiveKernelConv (and the "
                  "paper) feed every path the whole input",
    'skresnet34': 'split_input=True, as skresnet18',
    'skresnet50': 'split_input=True, as skresnet18',
    'gcresnet50t': _TIERED,
    'gcresnext50ts': _TIERED + ' and SiLU activations',
    'gcresnext26ts': _TIERED + ', SiLU, and 26 layers (mmcv ResNets have '
                     '18, 34, 50, 101 or 152)',
    'botnet26t_256': _TIERED + ' and 26 layers',
    'halonet26t': _TIERED + ' and 26 layers',
    'lambda_resnet26t': _TIERED + ' and 26 layers',
}


def timm_architecture(name):
    """The architecture of a timm model name (``seresnet50.a1_in1k`` ->
    ``seresnet50``) and its :class:`TimmResNet`; a ValueError names the
    name, why it does not map (:data:`UNMAPPED`) or what does."""
    if not isinstance(name, str) or not name:
        raise TypeError(f'a timm model name must be a non-empty string, '
                        f'got {name!r}')
    arch = name.split('.', 1)[0]
    if arch in UNMAPPED:
        raise ValueError(f'timm model {name!r} does not map onto an '
                         f'OpenMMLab ResNet with mmattn blocks: '
                         f'{UNMAPPED[arch]}')
    if arch not in TIMM_RESNETS:
        raise ValueError(f'timm model {name!r} is not one mmattn converts; '
                         f'choose one of {sorted(TIMM_RESNETS)} (with or '
                         f'without a pretrained tag)')
    return arch, TIMM_RESNETS[arch]


def timm_backbone_cfg(name, scope=None, **overrides):
    """The backbone config whose state dict :func:`convert_timm_resnet`
    gives for ``name``.

    Args:
        name (str): timm architecture, with or without a tag.
        scope (str, optional): ``'mmseg'`` or ``'mmdet'`` prefixes the
            backbone type; None leaves it to the config's default scope.
        **overrides: more ResNet arguments (``out_indices``, ``strides``,
            ``dilations``, ``contract_dilation``, ``norm_cfg``,
            ``init_cfg``, ...), merged into the ResNet's config.

    Returns:
        dict: a ResNet/ResNeXt config; wrapped in ``mmattn.
        BackboneWithBlocks(remove=...)`` where the family's conv replaces
        conv2 (its ``bn2`` goes).
    """
    if scope not in (None, 'mmseg', 'mmdet'):
        raise ValueError(f"scope must be None, 'mmseg' or 'mmdet', got "
                         f'{scope!r}')
    _, family = timm_architecture(name)
    kind = 'ResNeXt' if family.groups > 1 else 'ResNet'
    cfg = dict(type=f'{scope}.{kind}' if scope else kind,
               depth=family.depth, style='pytorch')
    if family.groups > 1:
        cfg.update(groups=family.groups, base_width=family.base_width)
    if family.deep_stem:
        cfg.update(deep_stem=True, stem_channels=64)
    if family.avg_down:
        cfg.update(avg_down=True)
    if family.plugin:
        cfg.update(plugins=[dict(cfg=dict(family.plugin),
                                 position='after_conv3')])
    if family.conv:
        cfg.update(dcn=dict(family.conv),
                   stage_with_dcn=(True, True, True, True))
    init_cfg = overrides.pop('init_cfg', None)
    cfg.update(overrides)
    if family.conv:
        return dict(type='mmattn.BackboneWithBlocks', backbone=cfg,
                    remove=_REMOVE_BN2, init_cfg=init_cfg)
    return dict(cfg, init_cfg=init_cfg)


_DEEP_STEM = {'conv1.0.': 'stem.0.', 'conv1.1.': 'stem.1.',
              'conv1.3.': 'stem.3.', 'conv1.4.': 'stem.4.',
              'conv1.6.': 'stem.6.', 'bn1.': 'stem.7.'}
_BLOCK_KEY = re.compile(r'(layer\d+\.\d+)\.(.*)')
_PLAIN_PART = re.compile(
    r'(conv[123]\.weight|bn[123]\.\w+|downsample\.\d+\.\w+)')
_SK_PARTS = {'conv1.conv.': 'conv1.', 'conv1.bn.': 'bn1.',
             'conv3.conv.': 'conv3.', 'conv3.bn.': 'bn3.'}


def _rename_block(arch, family, block, part, value, out):
    """Put one key of a residual block (``part``: its name inside
    ``block``) into ``out``, renamed; a key that fits no rule raises."""
    try:
        key = _block_key(family, part)
    except KeyError:  # a block converter's own complaint: name the key
        key = None
    if key is None:
        raise KeyError(f'{block}.{part}: no rule for this key of timm '
                       f"{arch!r}; is the checkpoint a {arch}?")
    out[f'{block}.{key}'] = value


def _block_key(family, part):
    """The backbone's name of ``part`` inside a residual block, or None."""
    plugin = (family.plugin or {}).get('type', '')
    conv = (family.conv or {}).get('type', '')
    if part.startswith('se.') and plugin == 'mmattn.SqueezeExcitation':
        [key] = SqueezeExcitation.convert_timm_state_dict({part[3:]: None})
        return f'se.{key}'
    if part == 'se.conv.weight' and plugin.endswith('ChannelAttention'):
        return 'eca.conv.weight'
    if conv == 'mmattn.SelectiveKernelConv':
        for theirs, ours in _SK_PARTS.items():
            if part.startswith(theirs):
                return ours + part[len(theirs):]
        if part.startswith('conv2.'):
            [key] = SelectiveKernelConv.convert_timm_state_dict(
                {part[6:]: None})
            return f'conv2.{key}'
    if conv == 'mmattn.SplitAttentionConv' and re.fullmatch(
            r'conv2\.(conv\.weight|(bn0|bn1|fc1|fc2)\.\w+)', part):
        return part  # timm's SplitAttn keys are mmattn's
    if _PLAIN_PART.fullmatch(part) and not (conv and part.startswith(
            ('conv2.', 'bn2.'))):
        return part
    return None


def convert_timm_resnet(state_dict, name):
    """timm ``name``'s state dict -> the state dict of
    :func:`timm_backbone_cfg` ``(name)``'s backbone.

    Every key is renamed or, for ``fc.*`` (the classifier), dropped; a key
    that fits no rule raises a KeyError naming it, so a checkpoint of
    another architecture does not convert silently. Values are the same
    tensors (no copies).

    Args:
        state_dict (Mapping[str, Tensor]): timm's (``model.state_dict()``).
        name (str): timm architecture, with or without a tag.

    Returns:
        OrderedDict: the backbone's keys, in timm's order.
    """
    arch, family = timm_architecture(name)
    out = OrderedDict()
    for key, value in state_dict.items():
        if key.startswith('fc.'):
            continue
        if key.startswith(('conv1.', 'bn1.')):
            if not family.deep_stem:
                if not re.fullmatch(r'conv1\.weight|bn1\.\w+', key):
                    raise KeyError(f'{key}: {arch} has a plain stem (conv1, '
                                   f'bn1)')
                out[key] = value
                continue
            prefix = next((p for p in _DEEP_STEM if key.startswith(p)), None)
            if prefix is None:
                raise KeyError(f'{key}: not a key of the deep stem of '
                               f'{arch}')
            out[_DEEP_STEM[prefix] + key[len(prefix):]] = value
            continue
        match = _BLOCK_KEY.fullmatch(key)
        if match is None:
            raise KeyError(f'{key}: no rule for this key of timm {arch!r}; '
                           f'is the checkpoint a {arch}?')
        _rename_block(arch, family, *match.groups(), value, out)
    return out
