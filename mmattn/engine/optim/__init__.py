"""Optimizer wrappers (bfloat16 autocast on CPU for ``--amp``)."""
from .amp import CPUAutocastOptimWrapper

__all__ = ['CPUAutocastOptimWrapper']
