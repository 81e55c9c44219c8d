"""Salient-position selection: ``mmattn.ops.salient_select``.

The selection step of SPANet: *Salient Positions based Attention Network for
Image Classification*, Sheng Fang, Kaiyu Li, Zhe Li, arXiv:2106.04996. The
saliency of a spatial position is the squared L2 norm of its channel vector,
and only the ``k`` most salient positions take part in the attention map.

``salient_select(x, k) -> (selected, indices)`` is backed by the
``torch.library`` custom op ``mmattn::salient_select`` with

* a generic (CPU) kernel in plain torch that never builds ``x ** 2`` over the
  whole ``(N, C, L)`` input,
* a CUDA kernel that computes the saliency with Triton (``_salient_triton``)
  and falls back to the generic kernel when Triton is not installed,
* a fake kernel, so ``torch.compile(fullgraph=True)`` and ``torch.export``
  trace through it without a graph break,
* an autograd formula (the gradient reaches the selected positions only),
* an ONNX translation (ReduceSumSquare, TopK, GatherElements) for the
  dynamo-based ``torch.onnx.export``; see :func:`onnx_translation_table`.

Ranking and ties
----------------
Positions are ranked by descending saliency, equal saliencies by ascending
position; a NaN saliency ranks above every number, as in ``torch.topk``.
``torch.topk`` gives no order among equal values, and neither does it say
*which* of several equal values it keeps at the k-th place. A float32
saliency ``s >= 0`` has a bit pattern that, read as an integer, is
monotonic in ``s``; packing those 31 bits above ``2**32 - 1 - position``
gives one int64 key per position that is unique and orders exactly as
required, so a single ``topk`` over the keys is the whole selection. A
float64 saliency has no spare bits for that, so it goes through a stable
descending sort instead (O(L log L); float64 is for reference and gradcheck
work, where exactness matters more than speed).

Why a packed key rather than a tie fix after a plain ``topk``, or a stable
sort: the timings are in docs/spanet.md.
"""
import numbers
from typing import Dict, Tuple

import torch
from torch import Tensor

__all__ = ['salient_select', 'onnx_translation_table']

# Scratch budget (elements) for the generic saliency kernel: the squares of a
# block of channels are summed at once because one fused elementwise op per
# channel is slow when C is large and the maps are small, while a bounded
# block keeps memory flat however large C * L grows.
_SCRATCH_NUMEL = 1 << 18


def _saliency_dtype(dtype: torch.dtype) -> torch.dtype:
    # float16 sums overflow past 65504 and bfloat16 ones lose ranks after
    # 8 bits of mantissa, so reduced precisions accumulate in float32.
    return torch.float64 if dtype == torch.float64 else torch.float32


def _saliency_torch(x: Tensor) -> Tensor:
    """Sum over C of ``x ** 2`` for an (N, C, L) tensor of any strides.

    Returns an (N, L) float32 (float64 for float64 input) tensor. The squares
    are formed one block of channels at a time, and the block never spans all
    of C, so no (N, C, L) temporary exists; ``einsum('ncl,ncl->nl')`` would
    copy x to an (N, L, C) layout for a batched matmul, and
    ``vector_norm(x, dim=1) ** 2`` goes through a square root, which merges
    distinct float32 sums and so creates false ties.
    """
    n, c, length = x.shape
    acc_dtype = _saliency_dtype(x.dtype)
    out = torch.zeros((n, length), dtype=acc_dtype, device=x.device)
    plane = max(n * length, 1)
    step = max(1, min(_SCRATCH_NUMEL // plane, (c + 1) // 2))
    if step == 1:
        # One channel at a time (planes too large to batch, or C <= 2):
        # addcmul_ fuses square and sum in the accumulator's dtype, so there
        # is no temporary at all.
        for ci in range(c):
            xc = x[:, ci]
            out.addcmul_(xc, xc)
        return out
    for c0 in range(0, c, step):
        block = x[:, c0:c0 + step].to(acc_dtype, copy=True).square_()
        out.add_(block.sum(dim=1))
    return out


def _rank(saliency: Tensor, k: int) -> Tensor:
    """Indices (N, k) of the k most salient positions, ties to the lower one.

    ``saliency`` is (N, L), non-negative (or NaN), float32 or float64. Uses
    only sync-free torch ops, so the CUDA kernel shares it.
    """
    length = saliency.shape[1]
    if saliency.dtype == torch.float64:
        # torch.sort puts NaN first when descending, like topk; stable keeps
        # equal saliencies in ascending position.
        return torch.sort(saliency, dim=1, descending=True,
                          stable=True).indices[:, :k]
    # Clearing the sign bit maps -0.0 onto +0.0 and a negative NaN (what x86
    # produces for invalid operations) onto a positive one, so every bit
    # pattern is a non-negative int32 that orders like the float.
    bits = saliency.view(torch.int32).to(torch.int64) & 0x7FFFFFFF
    rev_pos = 0xFFFFFFFF - torch.arange(
        length, dtype=torch.int64, device=saliency.device)
    key = (bits << 32) | rev_pos
    return torch.topk(key, k, dim=1).indices


def _gather(x: Tensor, indices: Tensor) -> Tensor:
    n, c, _ = x.shape
    return x.gather(2, indices.unsqueeze(1).expand(n, c, indices.shape[1]))


def _check_op_args(x: Tensor, k: int) -> None:
    # The custom op is callable directly (torch.ops.mmattn.salient_select);
    # the public wrapper has already clamped k, so these are internal errors.
    if x.dim() != 3:
        raise ValueError(
            f'mmattn::salient_select expects x of shape (N, C, L), '
            f'got {tuple(x.shape)}')
    if not 0 <= k <= x.shape[2]:
        raise ValueError(
            f'mmattn::salient_select expects 0 <= k <= L = {x.shape[2]}, '
            f'got k={k}')


def _select_generic(x: Tensor, k: int) -> Tuple[Tensor, Tensor]:
    """Generic kernel (CPU and any device without a kernel of its own)."""
    _check_op_args(x, k)
    indices = _rank(_saliency_torch(x), k)
    return _gather(x, indices), indices


# Registered from a named function (not a decorator) so the CPU kernel stays
# callable on its own, which is how the tests watch what it allocates.
_salient_select_op = torch.library.custom_op(
    'mmattn::salient_select', mutates_args=())(_select_generic)


@_salient_select_op.register_kernel('cuda')
def _salient_select_cuda(x: Tensor, k: int) -> Tuple[Tensor, Tensor]:
    _check_op_args(x, k)
    from . import _salient_triton
    if _salient_triton.AVAILABLE:
        saliency = _salient_triton.saliency(x)
    else:
        # Triton is an optional dependency (requirements/optional.txt); the
        # generic kernel is correct on CUDA too, just one launch per block.
        saliency = _saliency_torch(x)
    indices = _rank(saliency, k)
    return _gather(x, indices), indices


@_salient_select_op.register_fake
def _salient_select_fake(x: Tensor, k: int) -> Tuple[Tensor, Tensor]:
    _check_op_args(x, k)
    n, c, _ = x.shape
    return (x.new_empty((n, c, k)),
            x.new_empty((n, k), dtype=torch.int64))


def _setup_context(ctx, inputs, output) -> None:
    x, _ = inputs
    _, indices = output
    ctx.x_shape = x.shape
    ctx.save_for_backward(indices)
    ctx.mark_non_differentiable(indices)


def _backward(ctx, grad_selected: Tensor, grad_indices):
    (indices, ) = ctx.saved_tensors
    n, c, k = grad_selected.shape
    # Positions are distinct within a row, so scatter (not scatter_add) is
    # exact and deterministic; written in torch ops it is itself
    # differentiable.
    grad_x = grad_selected.new_zeros(ctx.x_shape).scatter(
        2, indices.unsqueeze(1).expand(n, c, k), grad_selected)
    return grad_x, None


_salient_select_op.register_autograd(_backward, setup_context=_setup_context)


def _check_k(k) -> None:
    # bool is an int subclass; True would silently mean k = 1.
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise ValueError(
            f'salient_select: k must be a positive integer, got '
            f'k={k!r} of type {type(k).__name__}')
    if k <= 0:
        raise ValueError(
            f'salient_select: k must be a positive integer, got k={k}')


def salient_select(x: Tensor, k: int) -> Tuple[Tensor, Tensor]:
    """Select the ``k`` most salient spatial positions of a feature map.

    The saliency of position ``l`` is ``sum_c x[n, c, l] ** 2``, the squared
    L2 norm of its channel vector (accumulated in float32 for float16 and
    bfloat16 inputs, in float64 for float64 ones). Positions are ordered by
    descending saliency; equal saliencies are ordered by ascending position,
    including at the k-th place, so the result is deterministic.

    Args:
        x (Tensor): Features of shape (N, C, L), or (N, C, H, W), which is
            taken as L = H * W positions in row-major order. Any strides
            (non-contiguous, channels_last) and any floating dtype.
        k (int): Number of positions to select, a positive integer. A ``k``
            larger than L selects all L positions, so the outputs then have
            L columns, not k.

    Returns:
        tuple[Tensor, Tensor]:
            - selected: (N, C, k') features of the selected positions, in
              the dtype of ``x``, where k' = min(k, L).
            - indices: (N, k') int64 positions into the L axis.

    The gradient flows to ``x`` at the selected positions only; ``indices``
    is not differentiable.

    Raises:
        TypeError: ``x`` is not a floating-point tensor.
        ValueError: ``x`` is not 3-D or 4-D, or ``k`` is not a positive
            integer.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f'salient_select: x must be a torch.Tensor, got '
                        f'{type(x).__name__}')
    if not x.is_floating_point():
        raise TypeError(f'salient_select: x must have a floating-point '
                        f'dtype, got x.dtype={x.dtype}')
    if x.dim() not in (3, 4):
        raise ValueError(
            f'salient_select: x must be (N, C, L) or (N, C, H, W), got '
            f'x.shape={tuple(x.shape)} ({x.dim()}-D)')
    _check_k(k)
    if x.dim() == 4:
        # flatten is a view for contiguous and channels_last inputs alike
        # (H and W stay mergeable), and a copy only when it has to be.
        x = x.flatten(2)
    return _salient_select_op(x, min(int(k), x.shape[2]))


def _salient_select_onnx(x, k):
    """ONNX translation of ``mmattn::salient_select`` (onnxscript, traced).

    TopK's spec breaks ties by the lower index, the same rule as the op.
    ``k`` is an int, or a symbolic scalar when the number of positions is
    dynamic (``min(k, H * W)`` of the block is then computed in the graph).
    """
    # Imported here: onnxscript is only needed while exporting, and the ops
    # layer must import nothing beyond torch.
    from onnxscript import ir
    from onnxscript import opset18 as op

    # Same accumulation rule as the torch kernels: float32 for reduced
    # precisions, the input's own dtype for float32 and float64.
    xs = x
    if x.dtype not in (ir.DataType.FLOAT, ir.DataType.DOUBLE):
        xs = op.Cast(x, to=ir.DataType.FLOAT)
    saliency = op.ReduceSumSquare(xs, op.Constant(value_ints=[1]),
                                  keepdims=0)
    if isinstance(k, int):
        k = op.Constant(value_ints=[k])
    else:  # TopK and Concat take K as a 1-element int64 tensor
        k = op.Reshape(op.Cast(k, to=ir.DataType.INT64),
                       op.Constant(value_ints=[1]))
    _, indices = op.TopK(saliency, k, axis=1, largest=1, sorted=1)
    shape = op.Shape(x)
    gather_shape = op.Concat(
        op.Slice(shape, op.Constant(value_ints=[0]),
                 op.Constant(value_ints=[2])),
        k,
        axis=0)
    index = op.Expand(op.Unsqueeze(indices, op.Constant(value_ints=[1])),
                      gather_shape)
    selected = op.GatherElements(x, index, axis=2)
    return selected, indices


def onnx_translation_table() -> Dict[object, object]:
    """Translations to pass to ``torch.onnx.export``.

    ``torch.onnx.export(model, args, dynamo=True,
    custom_translation_table=onnx_translation_table())`` writes
    ``salient_select`` as ReduceSumSquare -> TopK -> GatherElements (opset
    18, the lowest the dynamo-based exporter of torch 2.13 writes).

    Why this exporter: it is the default one since torch 2.9 and takes the
    translation per call, so nothing global is registered at import time.
    The legacy TorchScript exporter could take the op through
    ``torch.onnx.register_custom_op_symbolic`` too, but it is deprecated, and
    is not supported here.
    """
    return {torch.ops.mmattn.salient_select.default: _salient_select_onnx}
