"""Mixed precision for ``--amp`` on machines without a GPU.

mmengine's ``AmpOptimWrapper`` asserts a GPU (it relies on a CUDA
``GradScaler``). On CPU, bfloat16 autocast needs no loss scaling, so this
wrapper only enters ``torch.autocast('cpu', torch.bfloat16)`` around the
forward pass.
"""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from ...registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` that runs the forward pass under CPU autocast.

    Args:
        dtype (str): ``'bfloat16'`` (default) or ``'float16'``.
        **kwargs: passed to ``mmengine.optim.OptimWrapper``.
    """

    def __init__(self, dtype='bfloat16', **kwargs):
        if dtype not in ('bfloat16', 'float16'):
            raise ValueError(
                f"dtype must be 'bfloat16' or 'float16', got {dtype!r}")
        super().__init__(**kwargs)
        self.cast_dtype = getattr(torch, dtype)

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast(
                'cpu', dtype=self.cast_dtype):
            yield
