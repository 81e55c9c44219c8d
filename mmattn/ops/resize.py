"""Bilinear resizing that stays deterministic on CUDA (torch only).

CUDA's bilinear upsampling backward accumulates with atomics and raises under
``torch.use_deterministic_algorithms(True)``; :func:`resize_bilinear` then
resizes by two matrix products with the same weights.
"""
import torch
import torch.nn.functional as F

__all__ = ['bilinear_resize_by_matmul', 'resize_bilinear']


def _bilinear_resize_matrix(in_size, out_size, like, align_corners=False):
    """(out_size, in_size) weights of 1-D linear interpolation, PyTorch's
    rule: with ``align_corners=False`` source = (i + 0.5) * in / out - 0.5,
    clamped at 0; with ``True`` source = i * (in - 1) / (out - 1) (0 when
    out == 1); the upper neighbour clamped at in - 1."""
    # float32 whatever x is: bf16 cannot count past 256
    dst = torch.arange(out_size, device=like.device, dtype=torch.float32)
    if align_corners:
        step = (in_size - 1) / (out_size - 1) if out_size > 1 else 0.
        src = dst * step
    else:
        src = ((dst + 0.5) * (in_size / out_size) - 0.5).clamp(min=0)
    low = src.floor()
    frac = src - low
    # the upper neighbour, except at the last source position
    high = low + (low < in_size - 1).float()
    positions = torch.arange(in_size, device=like.device,
                             dtype=torch.float32)
    weights = ((positions == low[:, None]).float() * (1 - frac)[:, None]
               + (positions == high[:, None]).float() * frac[:, None])
    return weights.to(like.dtype)


def resize_bilinear(x, size, align_corners=False):
    """``F.interpolate(x, size, mode='bilinear', align_corners=...)`` that
    also works under ``torch.use_deterministic_algorithms(True)`` on CUDA.

    CUDA's bilinear upsampling backward accumulates with atomics and raises
    in deterministic mode; there (and only there, as it costs more) the
    resize is done as two matrix products with the same weights, whose
    backward is deterministic. Used by the blocks that upsample a gate, a
    mask or a context map to the input's size (RGA, residual attention,
    SPANet's sub-sampling, ANN's down-sampled queries).
    """
    if (x.is_cuda and torch.is_grad_enabled() and x.requires_grad
            and torch.are_deterministic_algorithms_enabled()):
        return bilinear_resize_by_matmul(x, size, align_corners)
    return F.interpolate(x, size=size, mode='bilinear',
                         align_corners=align_corners)


def bilinear_resize_by_matmul(x, size, align_corners=False):
    """The matrix-product form of :func:`resize_bilinear` (any device)."""
    rows = _bilinear_resize_matrix(x.size(2), size[0], x, align_corners)
    cols = _bilinear_resize_matrix(x.size(3), size[1], x, align_corners)
    return rows @ x @ cols.transpose(0, 1)
