"""Custom operators of mmattn (torch only; no OpenMMLab imports here)."""
from .attention import dot_product_attention
from .salient import salient_select

__all__ = ['dot_product_attention', 'salient_select']
