"""Exact dot-product attention: the one function every global block calls.

``dot_product_attention(q, k, v, scale)`` is ``softmax(scale * q k^T) v``
computed exactly, with the memory of the fused kernels where they apply:

* ``'sdpa'``: :func:`torch.nn.functional.scaled_dot_product_attention`, whose
  flash / memory-efficient back ends keep memory O(L) when they serve. On CPU
  the flash kernel needs equal query/key and value widths; with different
  widths (DANet's PAM: 64-wide keys, 512-wide values; Gaussian non-local)
  SDPA falls back to its math path, which materialises the (Lq, Lk) matrix,
  its softmax and their gradients.
* ``'chunked'``: an autograd function that walks over blocks of queries. Each
  query row sees every key at once, so its softmax is exact without the
  online rescaling of flash attention; the forward saves only the inputs and
  the output, and the backward recomputes each block's softmax. Peak memory
  is one (chunk, Lk) block instead of the whole (Lq, Lk) matrix, for one
  extra ``q k^T`` product and softmax in the backward (the cheap product
  when keys are narrower than values).
* ``'reference'``: the materialised formula, for tests and export.

``'auto'`` materialises the (Lq, Lk) matrix when it is no larger than the
inputs (few keys, or few wide tokens as in DANet's channel attention), else
picks SDPA when its fused kernels apply (equal widths; any widths on CUDA,
where the memory-efficient kernel accepts them) and the chunked path on CPU
otherwise. While exporting to ONNX every ``impl`` runs the reference
formula.

Autocast is off inside: under fp16/bf16 the logits and softmax are computed in
float32 (unscaled energies such as PAM's overflow fp16) and the result is cast
back to the inputs' dtype. Fused CUDA kernels accumulate in float32 on their
own, so half inputs go to them unchanged.
"""
import math
import numbers

import torch
import torch.nn.functional as F

__all__ = ['dot_product_attention', 'IMPLEMENTATIONS']

IMPLEMENTATIONS = ('auto', 'sdpa', 'chunked', 'reference')

# Bytes of one (chunk, Lk) block of float logits in the chunked path. Small
# enough to stay in L3 between the softmax and the next GEMM (PAM at 64x128,
# batch 2, fwd+bwd on a 2-core EPYC: 8 MiB 3.2 s, 32 MiB 3.6 s, 2 MiB 4.0 s,
# materialised 5.4 s), large enough that per-chunk overheads stay small.
_CHUNK_BYTES = 8 * 1024 * 1024
_MIN_CHUNK_ROWS = 256


def _check_inputs(query, key, value, scale, impl, chunk_size):
    for name, t in (('query', query), ('key', key), ('value', value)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f'{name} must be a Tensor, got {type(t).__name__}')
        if t.dim() < 3:
            raise ValueError(
                f'{name} must have shape (B, L, D) or (B, heads, L, D), got '
                f'{tuple(t.shape)}')
        if not t.is_floating_point():
            raise TypeError(f'{name} must be floating point, got {t.dtype}')
    if not (query.dim() == key.dim() == value.dim()) or not (
            query.shape[:-2] == key.shape[:-2] == value.shape[:-2]):
        raise ValueError(
            'query, key and value must share their leading (batch, heads) '
            f'dims, got {tuple(query.shape)}, {tuple(key.shape)}, '
            f'{tuple(value.shape)}')
    if query.size(-1) != key.size(-1):
        raise ValueError(
            f'query and key must have the same width D, got query '
            f'{tuple(query.shape)} and key {tuple(key.shape)}')
    if key.size(-2) != value.size(-2):
        raise ValueError(
            f'key and value must have the same length Lk, got key '
            f'{tuple(key.shape)} and value {tuple(value.shape)}')
    if key.size(-2) == 0:
        raise ValueError('key must have at least one position (Lk >= 1)')
    if not (query.device == key.device == value.device):
        raise ValueError(
            f'query, key and value must be on one device, got '
            f'{query.device}, {key.device}, {value.device}')
    if scale is not None and (isinstance(scale, bool)
                              or not isinstance(scale, numbers.Real)
                              or not math.isfinite(scale)):
        raise ValueError(f'scale must be a finite number or None, got '
                         f'{scale!r}')
    if impl not in IMPLEMENTATIONS:
        raise ValueError(f'impl must be one of {IMPLEMENTATIONS}, got '
                         f'{impl!r}')
    if chunk_size is not None and (isinstance(chunk_size, bool)
                                   or not isinstance(chunk_size, int)
                                   or chunk_size <= 0):
        raise ValueError(
            f'chunk_size must be a positive int or None, got {chunk_size!r}')


def _exporting():
    if torch.onnx.is_in_onnx_export():
        return True
    is_exporting = getattr(torch.compiler, 'is_exporting', None)
    return bool(is_exporting and is_exporting())


def _reference(query, key, value, scale):
    # bmm rather than matmul: matmul's backward through the transposed key
    # holds one more input-sized buffer (measured in docs/context.md).
    # flatten/unflatten of the leading dims, not reshape(-1, *shape[-2:]):
    # the TorchScript ONNX exporter would freeze L into the reshape
    lead = query.shape[:-2]
    if query.dim() != 3:
        query, key, value = (t.flatten(0, -3) for t in (query, key, value))
    logits = torch.bmm(query, key.transpose(1, 2)) * scale
    out = torch.bmm(logits.softmax(dim=-1), value)
    return out.unflatten(0, lead) if len(lead) != 1 else out


def _sdpa(query, key, value, scale):
    # The CPU flash kernel serves (B, heads, L, D) with unit stride along D
    # only; given a transposed view SDPA silently takes its O(Lq Lk) math
    # path, so the copy (O(L D)) is the cheap side.
    squeeze = query.dim() == 3
    if squeeze:
        query, key, value = (t.unsqueeze(1) for t in (query, key, value))
    if not query.is_cuda:
        query, key, value = (t if t.stride(-1) == 1 else t.contiguous()
                             for t in (query, key, value))
    out = F.scaled_dot_product_attention(query, key, value, scale=scale)
    return out.squeeze(1) if squeeze else out


def _rows_per_chunk(batch, lk, element_size, chunk_size):
    if chunk_size is not None:
        return chunk_size
    # Below ~256 rows the GEMMs get too thin to run at speed (whole-image
    # PAM, 32768 keys: 64 rows took 1.3x the time of 256), so long key sets
    # get blocks above the byte budget: 256 x 32768 floats is still 32 MiB.
    rows = _CHUNK_BYTES // max(1, batch * lk * element_size)
    return max(_MIN_CHUNK_ROWS, rows)


class _ChunkedAttention(torch.autograd.Function):
    """softmax(q k^T) v over blocks of query rows; q is pre-scaled.

    Tensors are (B, L, D) here (leading dims flattened by the caller). The
    backward recomputes each block's softmax (one fused kernel) instead of
    saving it, so nothing of size (Lq, Lk) outlives a block.
    """

    @staticmethod
    def forward(ctx, q, k, v, rows):
        batch, lq, _ = q.shape
        out = q.new_empty(batch, lq, v.size(-1))
        kt = k.transpose(1, 2)
        for start in range(0, lq, rows):
            stop = min(start + rows, lq)
            probs = torch.bmm(q[:, start:stop], kt).softmax(dim=-1)
            out[:, start:stop] = torch.bmm(probs, v)
        ctx.save_for_backward(q, k, v, out)
        ctx.rows = rows
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        q, k, v, out = ctx.saved_tensors
        need_q, need_k, need_v = ctx.needs_input_grad[:3]
        rows = ctx.rows
        grad_out = grad_out.contiguous()
        # softmax backward: dS = P * (dP - rowsum(dO * O)).
        delta = (grad_out * out).sum(dim=-1, keepdim=True)
        grad_q = torch.empty_like(q) if need_q else None
        grad_k = torch.zeros_like(k) if need_k else None
        grad_v = torch.zeros_like(v) if need_v else None
        kt, vt = k.transpose(1, 2), v.transpose(1, 2)
        for start in range(0, q.size(1), rows):
            stop = min(start + rows, q.size(1))
            q_c, go_c = q[:, start:stop], grad_out[:, start:stop]
            probs = torch.bmm(q_c, kt).softmax(dim=-1)
            if need_v:
                grad_v.baddbmm_(probs.transpose(1, 2), go_c)
            if need_q or need_k:
                dlogits = torch.bmm(go_c, vt).sub_(
                    delta[:, start:stop]).mul_(probs)
                if need_q:
                    grad_q[:, start:stop] = torch.bmm(dlogits, k)
                if need_k:
                    grad_k.baddbmm_(dlogits.transpose(1, 2), q_c)
        return grad_q, grad_k, grad_v, None


def _chunked(query, key, value, scale, chunk_size):
    lead = query.shape[:-2]
    q = (query * scale).reshape(-1, *query.shape[-2:]).contiguous()
    k = key.reshape(-1, *key.shape[-2:]).contiguous()
    v = value.reshape(-1, *value.shape[-2:]).contiguous()
    rows = _rows_per_chunk(q.size(0), k.size(1), q.element_size(),
                           chunk_size)
    out = _ChunkedAttention.apply(q, k, v, rows)
    return out.reshape(*lead, *out.shape[-2:])


def _fused_cuda_half(query, key, value, scale):
    """SDPA restricted to its fused kernels; None when none of them serves.

    The math fallback would form half-precision logits, which overflow for
    unscaled energies, so it is never used for half inputs.
    """
    from torch.nn.attention import SDPBackend, sdpa_kernel
    try:
        with sdpa_kernel([SDPBackend.FLASH_ATTENTION,
                          SDPBackend.EFFICIENT_ATTENTION]):
            return _sdpa(query, key, value, scale)
    except RuntimeError:
        return None


def dot_product_attention(query, key, value, scale=None, impl='auto',
                          chunk_size=None):
    """Exact ``softmax(scale * query @ key^T, dim=-1) @ value``.

    Args:
        query (Tensor): (B, Lq, D) or (B, heads, Lq, D).
        key (Tensor): (B, Lk, D) or (B, heads, Lk, D).
        value (Tensor): (B, Lk, Dv) or (B, heads, Lk, Dv); Dv may differ
            from D.
        scale (float, optional): multiplies the logits; ``None`` gives
            ``D ** -0.5`` as SDPA. Any finite number, e.g. 1.0 for DANet's
            unscaled energies or -1.0 for its channel attention
            (softmax(rowmax(E) - E) == softmax(-E)).
        impl (str): 'auto' (default), 'sdpa', 'chunked' or 'reference'; see
            the module docstring. All give the same result up to rounding.
        chunk_size (int, optional): query rows per block of the chunked
            path; default: as many as fit a 8 MiB block of logits.

    Returns:
        Tensor: (..., Lq, Dv), in the dtype of ``query``.
    """
    _check_inputs(query, key, value, scale, impl, chunk_size)
    if scale is None:
        scale = query.size(-1)**-0.5
    scale = float(scale)
    dtype = query.dtype
    half = dtype in (torch.float16, torch.bfloat16)
    if _exporting():
        # Whatever was asked: the chunk loop would be traced at the export
        # size, and torch's ONNX rule for SDPA takes sqrt(scale) (NaN for
        # CAM's negative scale). The formula exports exactly.
        impl = 'reference'
    elif impl == 'auto':
        lq, lk = query.size(-2), key.size(-2)
        if lq * lk <= (lq + lk) * max(query.size(-1), value.size(-1)):
            # The (Lq, Lk) matrix is no larger than the inputs (DANet's
            # channel attention: 512 x 512 against 8192-wide rows; OCR's few
            # object regions): materialising it costs no memory, and one
            # GEMM beats a fused kernel built for narrow heads.
            impl = 'reference'
        elif query.is_cuda or query.size(-1) == value.size(-1):
            impl = 'sdpa'
        else:
            impl = 'chunked'
    with torch.autocast(device_type=query.device.type, enabled=False):
        if half and impl == 'sdpa' and query.is_cuda:
            out = _fused_cuda_half(query, key.to(dtype), value.to(dtype),
                                   scale)
            if out is not None:
                return out
        if half or key.dtype != dtype or value.dtype != dtype:
            compute = torch.float32 if half else torch.promote_types(
                dtype, torch.promote_types(key.dtype, value.dtype))
            query, key, value = (t.to(compute) for t in (query, key, value))
        if impl == 'sdpa':
            out = _sdpa(query, key, value, scale)
        elif impl == 'chunked':
            out = _chunked(query, key, value, scale, chunk_size)
        else:
            out = _reference(query, key, value, scale)
    return out.to(dtype)
