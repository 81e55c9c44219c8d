"""Attention mechanisms as plain ``nn.Module`` s, one per file.

Every block takes ``(N, C, H, W)`` and says whether it keeps the shape; none
imports mmseg or mmdet, so they work outside OpenMMLab too.
"""
# channel / spatial attention (backbone plugins)
from .bam import BottleneckAttention
from .cbam import CBAM
from .double_attention import DoubleAttention
from .eca import EfficientChannelAttention, eca_kernel_size
from .gather_excite import GatherExcite
from .interaction_aggregation import (ChannelInteractionUnit,
                                      InteractionAggregationUpdate,
                                      SpatialInteractionUnit)
from .multi_spectral import MultiSpectralChannelAttention
from .pyramid_attention import SpatialPyramidAttention
from .relation_aware import RelationAwareAttention
from .residual_attention import ResidualAttention
from .scse import SpatialChannelSqueezeExcitation
from .se import SqueezeExcitation
from .second_order import GlobalSecondOrderPooling
from .spe import SelfAdaptivePoolingAttention
# convolution replacements (ResNet's dcn= slot)
from .sasa import StandAloneSelfAttentionConv
from .selective_kernel import SelectiveKernelConv
# global context
from .asym_non_local import (AsymmetricFusionNonLocal, AsymmetricNonLocal,
                             AsymmetricPyramidNonLocal, pyramid_sample)
from .channel import ChannelAttention
from .criss_cross import CrissCrossAttention
from .global_context import GlobalContext
from .non_local import NonLocal
from .object_context import ObjectContext, SpatialGather
from .position import PositionAttention
from .salient import SalientPositionAttention

__all__ = [
    'BottleneckAttention', 'CBAM', 'DoubleAttention',
    'EfficientChannelAttention', 'eca_kernel_size', 'GatherExcite',
    'ChannelInteractionUnit', 'InteractionAggregationUpdate',
    'SpatialInteractionUnit', 'MultiSpectralChannelAttention',
    'SpatialPyramidAttention', 'RelationAwareAttention', 'ResidualAttention',
    'SpatialChannelSqueezeExcitation', 'SqueezeExcitation',
    'GlobalSecondOrderPooling', 'SelfAdaptivePoolingAttention',
    'StandAloneSelfAttentionConv', 'SelectiveKernelConv',
    'AsymmetricFusionNonLocal', 'AsymmetricNonLocal',
    'AsymmetricPyramidNonLocal', 'pyramid_sample', 'ChannelAttention',
    'CrissCrossAttention', 'GlobalContext', 'NonLocal', 'ObjectContext',
    'SpatialGather', 'PositionAttention', 'SalientPositionAttention'
]
