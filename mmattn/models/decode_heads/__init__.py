"""mmseg decode heads built from mmattn blocks.

``DAHead``, ``ANNHead``, ``CCHead``, ``GCHead``, ``OCRHead`` and ``NLHead``
are drop-ins for mmseg's heads of those names (same arguments, same
state-dict keys), reached as ``mmattn.<name>``; ``SPAHead``,
``EfficientAttentionHead`` and ``ExternalAttentionHead`` are mmattn's own.
"""
from .ann_head import ANNHead
from .cc_head import CCHead
from .da_head import DAHead
from .efficient_attention_head import (EfficientAttentionHead,
                                       ExternalAttentionHead)
from .gc_head import GCHead
from .nl_head import NLHead
from .ocr_head import OCRHead
from .spa_head import SPAHead

__all__ = ['ANNHead', 'CCHead', 'DAHead', 'EfficientAttentionHead',
           'ExternalAttentionHead', 'GCHead', 'NLHead', 'OCRHead', 'SPAHead']
