"""Triton kernel for the saliency pass of ``mmattn::salient_select``.

Imported lazily by the CUDA kernel of the op only. Triton is optional
(requirements/optional.txt): without it :data:`AVAILABLE` is False and the op
uses its generic torch kernel on CUDA as well.

One program reads a (BLOCK_C, BLOCK_L) tile of ``x`` at a time over the whole
channel axis and keeps the running sum of squares for its BLOCK_L positions
in registers, so ``x`` is read exactly once and nothing but the (N, L)
saliency is written. Tiles are addressed through the input's strides, so
contiguous, sliced and channels_last inputs need no copy; a 2-D tile keeps
loads coalesced whichever of C and L is the unit-stride axis.
"""
import torch
from torch import Tensor

try:
    import triton
    import triton.language as tl
except ImportError:  # CPU-only installs; the op falls back to torch.
    triton = None
    tl = None

AVAILABLE = triton is not None

_BLOCK_C = 32
_BLOCK_L = 64

if AVAILABLE:

    @triton.jit
    def _saliency_kernel(x_ptr, out_ptr, C, L, num_l_blocks, stride_n,
                         stride_c, stride_l, ACC_FP64: tl.constexpr,
                         BLOCK_C: tl.constexpr, BLOCK_L: tl.constexpr):
        # One flat grid axis: the second axis of a CUDA grid stops at 65535,
        # which a large batch could pass.
        pid = tl.program_id(0)
        n = pid // num_l_blocks
        lb = pid % num_l_blocks
        offs_l = lb * BLOCK_L + tl.arange(0, BLOCK_L)
        mask_l = offs_l < L
        if ACC_FP64:
            acc = tl.zeros([BLOCK_L], dtype=tl.float64)
        else:
            acc = tl.zeros([BLOCK_L], dtype=tl.float32)
        # int64 offsets: N * C * L can pass 2**31 elements.
        base = x_ptr + n.to(tl.int64) * stride_n
        col = offs_l.to(tl.int64)[None, :] * stride_l
        for c0 in range(0, C, BLOCK_C):
            offs_c = c0 + tl.arange(0, BLOCK_C)
            ptrs = base + offs_c.to(tl.int64)[:, None] * stride_c + col
            mask = (offs_c[:, None] < C) & mask_l[None, :]
            v = tl.load(ptrs, mask=mask, other=0.0).to(acc.dtype)
            acc += tl.sum(v * v, axis=0)
        tl.store(out_ptr + n.to(tl.int64) * L + offs_l, acc, mask=mask_l)


def saliency(x: Tensor) -> Tensor:
    """Sum over C of ``x ** 2`` for an (N, C, L) tensor of any strides.

    Returns a contiguous (N, L) tensor: float64 for float64 input, float32
    otherwise (float16/bfloat16 squares are summed in float32).
    """
    if not AVAILABLE:
        raise RuntimeError('triton is not installed')
    n, c, length = x.shape
    acc_fp64 = x.dtype == torch.float64
    out = torch.zeros((n, length),
                      dtype=torch.float64 if acc_fp64 else torch.float32,
                      device=x.device)
    if n == 0 or c == 0 or length == 0:
        return out
    num_l_blocks = triton.cdiv(length, _BLOCK_L)
    grid = (n * num_l_blocks, )
    _saliency_kernel[grid](
        x, out, c, length, num_l_blocks, x.stride(0), x.stride(1),
        x.stride(2), ACC_FP64=acc_fp64, BLOCK_C=_BLOCK_C, BLOCK_L=_BLOCK_L)
    return out
