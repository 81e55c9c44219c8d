"""mmseg decode heads built from mmattn blocks."""
from .spa_head import SPAHead

__all__ = ['SPAHead']
