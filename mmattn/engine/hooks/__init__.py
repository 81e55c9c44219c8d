"""Registered training hooks (``custom_hooks`` / ``default_hooks``)."""
from .attention_visualization import AttentionVisualizationHook
from .checkpoint_hook import AtomicCheckpointHook
from .finite_loss import FiniteLossHook
from .spe_penalty import SPEPenaltyHook, spe_blocks, spe_penalty

__all__ = [
    'AttentionVisualizationHook', 'AtomicCheckpointHook', 'FiniteLossHook',
    'SPEPenaltyHook', 'spe_blocks', 'spe_penalty'
]
