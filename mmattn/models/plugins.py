"""mmattn blocks registered as mmcv plugin layers (ResNet ``plugins=``).

mmcv's ``build_plugin_layer`` passes ``in_channels`` and reads the layer name
from ``_abbr_``; the blocks take ``in_channels`` first and carry ``_abbr_``, so
registering the block classes themselves is all a plugin needs. The same
registration lets heads and necks build them by name, and lets ResNet's
``dcn=`` slot build the convolution replacements through
``build_conv_layer`` (which looks ``type`` up in the same registry).

What is registered is read off the block classes (their ``role``, see
:mod:`mmattn.blocks.catalog`): no list here is kept by hand.
"""
from .. import blocks as _blocks
from ..blocks.catalog import blocks_in, registered_blocks
from ..registry import MODELS


def register_blocks(namespace):
    """Register every block of ``namespace`` (a module or dict) that declares
    a ``role`` in :data:`mmattn.registry.MODELS`, as ``mmattn.<ClassName>``.

    Returns:
        list[type]: the classes registered.
    """
    blocks = blocks_in(namespace)
    for block in blocks:
        if MODELS.module_dict.get(block.__name__) is not block:
            MODELS.register_module(module=block)  # a clash raises KeyError
    return blocks


#: Shape-preserving blocks taking ``in_channels`` first: ResNet plugins,
#: AttentionNeck / BackboneWithBlocks blocks.
PLUGIN_BLOCKS = tuple(registered_blocks('plugin'))

#: Replacements of a 3x3 convolution (``dcn=`` of ResNet); with equal input
#: and output widths and stride 1 they also work as plugins.
CONV_LAYERS = tuple(registered_blocks('conv'))

register_blocks(_blocks)

__all__ = ['PLUGIN_BLOCKS', 'CONV_LAYERS', 'register_blocks']
