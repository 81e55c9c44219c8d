"""Pooling as the blocks need it: deterministic backward and a dynamic H, W
in ONNX, on any device (torch only).

``F.adaptive_avg_pool2d`` and ``F.adaptive_max_pool2d`` have CUDA backwards
that ``torch.use_deterministic_algorithms(True)`` refuses, and the former
exports to ONNX only for a static input size; these functions compute the
same values without either limitation.
"""
import torch
import torch.nn.functional as F

__all__ = ['adaptive_avg_pool', 'adaptive_bins', 'adaptive_max_pool_strip',
           'adaptive_pool_matrix', 'global_avg_pool', 'global_max_pool']


def global_avg_pool(x):
    """Mean over H and W, keeping them as size 1: (N, C, H, W) -> (N, C, 1, 1).
    """
    return x.mean(dim=(2, 3), keepdim=True)


def global_max_pool(x):
    """Max over H and W, keeping them as size 1: (N, C, H, W) -> (N, C, 1, 1).

    ``adaptive_max_pool2d`` (its backward writes each gradient to the argmax
    position in one pass), except under
    ``torch.use_deterministic_algorithms(True)``, where its CUDA backward (a
    scatter with atomics) is refused: there it is ``amax``, whose backward is
    a deterministic mask (slower: an (N, C, H, W) tie mask and count; the
    cost is in docs/blocks.md). The mode, not the device, decides,
    so CPU runs check the path CUDA takes. On ties the pool sends the
    gradient to one position, ``amax`` splits it evenly: both are valid
    subgradients.
    """
    if torch.are_deterministic_algorithms_enabled():
        return x.amax(dim=(2, 3), keepdim=True)
    return F.adaptive_max_pool2d(x, 1)


def adaptive_pool_matrix(in_size, out_size, like):
    """The (out_size, in_size) matrix of 1-D adaptive average pooling.

    Row i averages positions floor(i * L / S) to ceil((i + 1) * L / S) - 1,
    the bins of ``F.adaptive_avg_pool2d`` (overlapping, or repeating one
    position, when L < S). Built from tensor arithmetic on ``in_size`` so
    that an ONNX export keeps H and W dynamic.
    """
    inside = adaptive_bins(in_size, out_size, like.device)
    # at least float32: bf16 cannot count past 256
    dtype = torch.promote_types(like.dtype, torch.float32)
    weights = inside.to(dtype) / inside.sum(dim=1, keepdim=True).to(dtype)
    return weights.to(like.dtype)


def adaptive_bins(in_size, out_size, device=None):
    """(out_size, in_size) bool: whether position j falls in bin i of 1-D
    adaptive pooling, positions floor(i * L / S) to
    ceil((i + 1) * L / S) - 1 (the bins of ``F.adaptive_*_pool2d``). Built
    from tensor arithmetic on ``in_size``, so an ONNX export keeps it
    dynamic."""
    bins = torch.arange(out_size, device=device)
    start = bins * in_size // out_size
    end = ((bins + 1) * in_size + out_size - 1) // out_size
    positions = torch.arange(in_size, device=device)
    return ((positions[None, :] >= start[:, None])
            & (positions[None, :] < end[:, None]))


def adaptive_max_pool_strip(x, out_size, dim):
    """``F.adaptive_max_pool2d`` to an (out_size, 1) strip (``dim=2``: bins
    of rows, max over all columns) or a (1, out_size) strip (``dim=3``).

    (N, C, H, W) -> (N, C, out_size, 1) or (N, C, 1, out_size). A max over
    the other axis, then a masked max over each bin: the ONNX export of
    ``adaptive_max_pool2d`` needs a static input size, this keeps H and W
    dynamic. On ties the gradient is split (``amax``'s), where the pool
    sends it to one position.
    """
    if dim not in (2, 3):
        raise ValueError(f'dim must be 2 (rows) or 3 (columns), got {dim!r}')
    other = 5 - dim
    line = x.amax(dim=other)  # (N, C, L)
    inside = adaptive_bins(line.size(-1), out_size, x.device)
    pooled = line.unsqueeze(-2).masked_fill(~inside, float('-inf'))
    return pooled.amax(dim=-1).unsqueeze(other)


def adaptive_avg_pool(x, output_size):
    """``F.adaptive_avg_pool2d(x, output_size)`` as two matrix products.

    (N, C, H, W) -> (N, C, h, w). The CUDA backward of
    ``adaptive_avg_pool2d`` is refused under
    ``torch.use_deterministic_algorithms(True)``, and its ONNX export needs
    a static input size; products with the pooling matrices have neither
    problem.
    """
    out_h, out_w = output_size
    rows = adaptive_pool_matrix(x.shape[2], out_h, x)
    cols = adaptive_pool_matrix(x.shape[3], out_w, x)
    return rows @ x @ cols.t()
