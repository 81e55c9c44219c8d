"""Custom operators of mmattn (torch only; no OpenMMLab imports here)."""
from .salient import salient_select

__all__ = ['salient_select']
