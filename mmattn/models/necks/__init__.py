"""Necks that place mmattn blocks on levels of a feature pyramid."""
from .attention_neck import AttentionNeck

__all__ = ['AttentionNeck']
