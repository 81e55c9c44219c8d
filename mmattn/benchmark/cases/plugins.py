"""Backbone plugins: what each registered block adds to a ResNet-50."""
from typing import List

from ..measure import Entry
from .framework import module_entry, register_case, Size


# --------------------------------------------------------------------------
# backbone plugins: what each adds to a ResNet-50
# --------------------------------------------------------------------------
def _variants(role):
    """``(label, config)`` of every registered block of ``role`` (see
    :mod:`mmattn.blocks.catalog`), with its ``plugin_cfg``."""
    from ...blocks.catalog import label_of, plugin_kwargs, registered_blocks
    return tuple(
        (label_of(cls), dict(type=f'mmattn.{cls.__name__}',
                             **plugin_kwargs(cls)))
        for cls in registered_blocks(role))


#: Every registered plugin block, after conv3 of every bottleneck.
PLUGIN_VARIANTS = _variants('plugin')

#: Convolution replacements, in the 3x3 conv of every bottleneck (``dcn=``).
CONV_VARIANTS = _variants('conv')


@register_case(
    'plugins_resnet50',
    size=(224, 224),
    batch=8,
    help="each plugin after conv3 of every bottleneck of mmdet's ResNet-50 "
    'vs the plain ResNet-50 (anchor)')
def plugins_resnet50(size: Size, batch: int) -> List[Entry]:
    shape = (batch, 3, *size)

    def resnet(plugin=None, conv=None):
        cfg = dict(type='ResNet', depth=50, norm_cfg=dict(type='BN'))
        if plugin is not None:
            cfg['plugins'] = [
                dict(cfg=plugin, stages=(True, True, True, True),
                     position='after_conv3')
            ]
        if conv is not None:
            cfg.update(dcn=conv, stage_with_dcn=(True, True, True, True))
        return cfg

    return [module_entry(resnet(), shape, name='ResNet-50', scope='mmdet')] + [
        module_entry(resnet(plugin), shape, name=f'+ {name}', scope='mmdet')
        for name, plugin in PLUGIN_VARIANTS
    ] + [
        module_entry(resnet(conv=conv), shape, name=name, scope='mmdet')
        for name, conv in CONV_VARIANTS
    ]


