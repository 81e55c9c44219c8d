"""Kernels of mmattn (torch only; no OpenMMLab imports here): the custom
operators, and the pooling and resizing the blocks need with a deterministic
backward and a dynamic-size ONNX export."""
from .attention import dot_product_attention
from .pooling import (adaptive_avg_pool, adaptive_bins,
                      adaptive_max_pool_strip, adaptive_pool_matrix,
                      global_avg_pool, global_max_pool)
from .relative_position import (relative_index, relative_position_logits,
                                relative_position_terms)
from .resize import bilinear_resize_by_matmul, resize_bilinear
from .salient import salient_select

__all__ = [
    'adaptive_avg_pool', 'adaptive_bins', 'adaptive_max_pool_strip',
    'adaptive_pool_matrix', 'bilinear_resize_by_matmul',
    'dot_product_attention', 'global_avg_pool', 'global_max_pool',
    'relative_index', 'relative_position_logits', 'relative_position_terms',
    'resize_bilinear', 'salient_select'
]
