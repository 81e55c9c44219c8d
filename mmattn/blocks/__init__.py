"""Attention mechanisms as plain ``nn.Module`` s, one per file.

Every block takes ``(N, C, H, W)`` and says whether it keeps the shape; none
imports mmseg or mmdet, so they work outside OpenMMLab too.
"""
from .salient import SalientPositionAttention

__all__ = ['SalientPositionAttention']
