"""mmattn blocks registered as mmcv plugin layers (ResNet ``plugins=``).

mmcv's ``build_plugin_layer`` passes ``in_channels`` and reads the layer name
from ``_abbr_``; the blocks take ``in_channels`` first and carry ``_abbr_``, so
registering the block classes themselves is all a plugin needs. The same
registration lets heads and necks build them by name.
"""
from ..blocks import (CBAM, EfficientChannelAttention, GatherExcite,
                      SalientPositionAttention, SelfAdaptivePoolingAttention,
                      SpatialChannelSqueezeExcitation, SqueezeExcitation)
from ..registry import MODELS

PLUGIN_BLOCKS = (SalientPositionAttention, SqueezeExcitation,
                 EfficientChannelAttention, CBAM, SelfAdaptivePoolingAttention,
                 SpatialChannelSqueezeExcitation, GatherExcite)

for _block in PLUGIN_BLOCKS:
    MODELS.register_module(module=_block)

__all__ = [block.__name__ for block in PLUGIN_BLOCKS]
