"""Attention mechanisms as plain ``nn.Module`` s, one per file.

Every block takes ``(N, C, H, W)`` and says whether it keeps the shape; none
imports mmseg or mmdet, so they work outside OpenMMLab too.
"""
from .cbam import CBAM
from .eca import EfficientChannelAttention, eca_kernel_size
from .gather_excite import GatherExcite
from .salient import SalientPositionAttention
from .scse import SpatialChannelSqueezeExcitation
from .se import SqueezeExcitation
from .spe import SelfAdaptivePoolingAttention

__all__ = [
    'CBAM', 'EfficientChannelAttention', 'GatherExcite',
    'SalientPositionAttention', 'SpatialChannelSqueezeExcitation',
    'SqueezeExcitation', 'SelfAdaptivePoolingAttention', 'eca_kernel_size'
]
