"""Parameters and FLOPs: :class:`torch.utils.flop_counter.FlopCounterMode`
with formulas for the ops it does not know (attention included)."""
import math
from typing import Any, Callable, Dict, Tuple

import torch
from torch import nn


# --------------------------------------------------------------------------
# parameters and FLOPs
# --------------------------------------------------------------------------
def count_params(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters of ``module`` (shared parameters counted once)."""
    seen = set()
    total = 0
    for p in module.parameters():
        if id(p) in seen or (trainable_only and not p.requires_grad):
            continue
        seen.add(id(p))
        total += p.numel()
    return total


def _extra_flop_formulas() -> dict:
    """Formulas FlopCounterMode lacks: the fused CPU SDPA kernel.

    On CPU ``F.scaled_dot_product_attention`` dispatches to
    ``_scaled_dot_product_flash_attention_for_cpu`` (and its backward), which
    the stock registry does not know, so the attention of an SDPA-based block
    would count as zero on CPU. Their leading arguments are the same as those
    of the CUDA kernels, so the stock formulas apply.
    """
    from torch.utils import flop_counter as fc
    aten = torch.ops.aten
    extra = {}
    pairs = [('_scaled_dot_product_flash_attention_for_cpu',
              '_scaled_dot_product_flash_attention'),
             ('_scaled_dot_product_flash_attention_for_cpu_backward',
              '_scaled_dot_product_flash_attention_backward')]
    for op_name, like_name in pairs:
        op = getattr(aten, op_name, None)
        like = getattr(aten, like_name, None)
        formula = fc.flop_registry.get(like)
        if op is None or formula is None or op in fc.flop_registry:
            continue

        def raw(*args, _formula=formula, **kwargs):
            return _formula(*args, **kwargs)

        # ``formula`` is registered already wrapped (it takes tensors and
        # ``out_val``); tell FlopCounterMode not to wrap it a second time.
        raw._get_raw = True
        extra[op] = raw

    # The stock convolution_backward formula ignores ``groups``: it counts a
    # depthwise conv's backward as if the conv were dense (66x its forward for
    # 64 groups). Each MAC of a (non-transposed) grouped conv's forward is one
    # MAC of grad_input and one of grad_weight, so count exactly that.
    stock_conv_backward = fc.flop_registry.get(aten.convolution_backward)
    if stock_conv_backward is not None:

        def conv_backward(grad_out, x, weight, bias, stride, padding,
                          dilation, transposed, output_padding, groups,
                          output_mask, *args, **kwargs):
            if groups == 1 or transposed:
                return stock_conv_backward(
                    grad_out, x, weight, bias, stride, padding, dilation,
                    transposed, output_padding, groups, output_mask, *args,
                    **kwargs)
            forward = 2 * grad_out.numel() * math.prod(weight.shape[1:])
            return forward * (int(output_mask[0]) + int(output_mask[1]))

        conv_backward._get_raw = True
        extra[aten.convolution_backward] = conv_backward

    # In-place accumulating products (``out.baddbmm_(a, b)``, ``addmm_``:
    # how a hand-written backward sums per-block gradients) count as their
    # out-of-place forms; the stock registry has only the latter.
    for inplace, like in (('baddbmm_', 'baddbmm'), ('addmm_', 'addmm')):
        op = getattr(aten, inplace, None)
        formula = fc.flop_registry.get(getattr(aten, like, None))
        if op is None or formula is None or op in fc.flop_registry:
            continue

        def raw_inplace(*args, _formula=formula, **kwargs):
            return _formula(*args, **kwargs)

        raw_inplace._get_raw = True
        extra[op] = raw_inplace
    return extra


#: Formulas added with :func:`register_flops`, by op packet.
_USER_FORMULAS: Dict[Any, Callable[..., int]] = {}


def register_flops(op, formula: Callable[..., int]) -> None:
    """Teach the counter the FLOPs of an op it does not know.

    ``op`` is an op packet as the dispatcher sees it, e.g.
    ``torch.ops.mmattn.my_attention`` for a ``torch.library`` custom op;
    ``formula(*args, out_val=output, **kwargs) -> int`` gets the op's actual
    arguments (tensors) and output. Work the dispatcher never sees (a raw
    Triton launch or a compiled extension called from an
    ``autograd.Function``) counts zero unless wrapped in such an op.
    """
    packet = getattr(op, '_overloadpacket', op)

    def raw(*args, **kwargs):
        return formula(*args, **kwargs)

    raw._get_raw = True
    _USER_FORMULAS[packet] = raw


def _count(fn: Callable[[], Any]) -> Tuple[int, Dict[str, int]]:
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(
        display=False,
        custom_mapping={**_extra_flop_formulas(), **_USER_FORMULAS})
    with counter:
        fn()
    by_op = counter.get_flop_counts().get('Global', {})
    by_op = {str(op): int(n) for op, n in by_op.items()}
    return int(counter.get_total_flops()), by_op


def count_flops(fn: Callable[[], Any]) -> int:
    """FLOPs (multiply-add = 2) of one call of ``fn()``, matmuls included.

    ``fn`` is run once under ``torch.utils.flop_counter.FlopCounterMode``; if
    it runs a backward, the backward's FLOPs are counted too.
    """
    return _count(fn)[0]


def flops_by_op(fn: Callable[[], Any]) -> Dict[str, int]:
    """FLOPs of one call of ``fn()`` per ATen op: ``{'aten.bmm': n, ...}``."""
    return _count(fn)[1]
