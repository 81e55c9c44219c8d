"""mmattn blocks registered as mmcv plugin layers (ResNet ``plugins=``).

mmcv's ``build_plugin_layer`` passes ``in_channels`` and reads the layer name
from ``_abbr_``; the blocks take ``in_channels`` first and carry ``_abbr_``, so
registering the block classes themselves is all a plugin needs. The same
registration lets heads and necks build them by name, and lets ResNet's
``dcn=`` slot build the convolution replacements through
``build_conv_layer`` (which looks ``type`` up in the same registry).
"""
from ..blocks import (AsymmetricPyramidNonLocal, BottleneckAttention, CBAM,
                      ChannelAttention, ChannelInteractionUnit,
                      CrissCrossAttention, DoubleAttention,
                      EfficientChannelAttention, GatherExcite, GlobalContext,
                      GlobalSecondOrderPooling, InteractionAggregationUpdate,
                      MultiSpectralChannelAttention, NonLocal,
                      PositionAttention, RelationAwareAttention,
                      ResidualAttention, SalientPositionAttention,
                      SelectiveKernelConv, SelfAdaptivePoolingAttention,
                      SpatialChannelSqueezeExcitation,
                      SpatialInteractionUnit, SpatialPyramidAttention,
                      SqueezeExcitation, StandAloneSelfAttentionConv)
from ..registry import MODELS

#: Shape-preserving blocks taking ``in_channels`` first: ResNet plugins,
#: AttentionNeck / BackboneWithBlocks blocks.
PLUGIN_BLOCKS = (
    # channel / spatial attention
    SqueezeExcitation, EfficientChannelAttention, CBAM,
    SelfAdaptivePoolingAttention, SpatialChannelSqueezeExcitation,
    GatherExcite, SpatialPyramidAttention, BottleneckAttention,
    DoubleAttention, MultiSpectralChannelAttention, GlobalSecondOrderPooling,
    RelationAwareAttention, ChannelInteractionUnit, SpatialInteractionUnit,
    InteractionAggregationUpdate, ResidualAttention,
    # global context
    SalientPositionAttention, PositionAttention, ChannelAttention, NonLocal,
    AsymmetricPyramidNonLocal, CrissCrossAttention, GlobalContext)

#: Replacements of a 3x3 convolution (``dcn=`` of ResNet); with equal input
#: and output widths and stride 1 they also work as plugins.
CONV_LAYERS = (SelectiveKernelConv, StandAloneSelfAttentionConv)

for _block in PLUGIN_BLOCKS + CONV_LAYERS:
    MODELS.register_module(module=_block)

__all__ = [block.__name__ for block in PLUGIN_BLOCKS + CONV_LAYERS]
