"""Pieces shared by the blocks: argument checks, global pooling, channel MLP.

Written once here so that every block validates its arguments and reduces
its input the same way.
"""
import numbers
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer


def _check_positive_int(name, value, allow_none=False):
    """Raise ValueError unless ``value`` is an int > 0 (bools refused)."""
    if allow_none and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(
            f'{name} must be a positive int{" or None" if allow_none else ""}'
            f', got {value!r}')


def _check_odd_kernel(name, value, allow_none=False):
    """Raise ValueError unless ``value`` is a positive odd int.

    An odd kernel with padding ``(k - 1) // 2`` keeps the length, which is
    what a shape-preserving gate needs.
    """
    if allow_none and value is None:
        return
    if (isinstance(value, bool) or not isinstance(value, int) or value <= 0
            or value % 2 == 0):
        raise ValueError(
            f'{name} must be a positive odd int'
            f'{" or None" if allow_none else ""}, got {value!r}')


def _check_real(name, value, positive=False):
    """Raise ValueError unless ``value`` is a finite real number."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or value != value or abs(value) == float('inf')
            or (positive and value <= 0)):
        raise ValueError(
            f'{name} must be a {"positive " if positive else ""}finite '
            f'number, got {value!r}')


def _check_scales(name, scales):
    """Raise ValueError unless ``scales`` is a non-empty tuple/list of
    positive ints (pyramid sizes, query scales)."""
    if not isinstance(scales, (tuple, list)) or not scales:
        raise ValueError(
            f'{name} must be a non-empty tuple of positive ints, got '
            f'{scales!r}')
    for scale in scales:
        _check_positive_int(f'every entry of {name}', scale)


def _check_choice(name, value, choices):
    """Raise ValueError unless ``value`` is one of ``choices``.

    Types must match too, so ``2.0`` or ``True`` is not taken for ``2`` or
    ``1``.
    """
    if not any(type(value) is type(c) and value == c for c in choices):
        raise ValueError(
            f'{name} must be one of {tuple(choices)!r}, got {value!r}')


def reduced_channels(in_channels, reduction, min_channels=1):
    """Hidden width of a squeeze MLP: ``max(min_channels, C // reduction)``.

    The SE/CBAM papers' rule. ``reduction`` may not exceed ``in_channels``
    (a wider bottleneck than the input is a configuration mistake).
    """
    _check_positive_int('in_channels', in_channels)
    _check_positive_int('reduction', reduction)
    _check_positive_int('min_channels', min_channels)
    if reduction > in_channels:
        raise ValueError(
            f'reduction must be <= in_channels ({in_channels}), got '
            f'{reduction!r}')
    return max(min_channels, in_channels // reduction)


def check_input(x, in_channels, name='x'):
    """Raise ValueError unless ``x`` is ``(N, in_channels, H, W)``; ``name``
    is the argument named in the message (blocks with several inputs)."""
    if x.dim() != 4 or x.size(1) != in_channels:
        raise ValueError(
            f'{name} must have shape (N, {in_channels}, H, W), got '
            f'{tuple(x.shape)}')


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
    a deterministic mask (slower: an (N, C, H, W) tie mask and count; CBAM
    fwd+bwd 53 ms against 48 ms on CPU). The mode, not the device, decides,
    so CPU runs check the path CUDA takes. On ties the pool sends the
    gradient to one position, ``amax`` splits it evenly: both are valid
    subgradients.
    """
    if torch.are_deterministic_algorithms_enabled():
        return x.amax(dim=(2, 3), keepdim=True)
    return F.adaptive_max_pool2d(x, 1)


class ChannelMLP(nn.Sequential):
    """1x1 conv (bias) -> activation -> 1x1 conv (bias): C -> hidden -> C.

    The excitation MLP of SE and CBAM's channel gate. A 1x1 conv on a
    (N, C, 1, 1) map is a fully connected layer; its weight is the Linear
    weight viewed as (out, in, 1, 1). Children: ``fc1``, ``act``, ``fc2``.
    """

    def __init__(self, in_channels, hidden_channels,
                 act_cfg=dict(type='ReLU')):
        super().__init__(OrderedDict(
            fc1=nn.Conv2d(in_channels, hidden_channels, 1),
            act=build_activation_layer(act_cfg),
            fc2=nn.Conv2d(hidden_channels, in_channels, 1)))


def adaptive_pool_matrix(in_size, out_size, like):
    """The (out_size, in_size) matrix of 1-D adaptive average pooling.

    Row i averages positions floor(i * L / S) to ceil((i + 1) * L / S) - 1,
    the bins of ``F.adaptive_avg_pool2d`` (overlapping, or repeating one
    position, when L < S). Built from tensor arithmetic on ``in_size`` so
    that an ONNX export keeps H and W dynamic.
    """
    bins = torch.arange(out_size, device=like.device)
    start = bins * in_size // out_size
    end = ((bins + 1) * in_size + out_size - 1) // out_size
    positions = torch.arange(in_size, device=like.device)
    inside = ((positions[None, :] >= start[:, None])
              & (positions[None, :] < end[:, None]))
    # at least float32: bf16 cannot count past 256
    dtype = torch.promote_types(like.dtype, torch.float32)
    weights = inside.to(dtype) / (end - start)[:, None].to(dtype)
    return weights.to(like.dtype)


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


def refuse_single_sample_batch_norm(norm, x, name):
    """Raise ValueError where a BN over pooled (N, C, 1, 1) vectors would
    see one value per channel (batch size 1 in training).

    torch raises too, but without saying which argument to change. Only
    plain BN is checked: SyncBN pools its statistics over every process.
    """
    if (x.size(0) == 1 and norm is not None and norm.training
            and isinstance(norm, (nn.BatchNorm1d, nn.BatchNorm2d))):
        raise ValueError(
            f'{name} gives a {type(norm).__name__} over pooled (N, C, 1, 1) '
            'vectors, which needs a batch of at least 2 in training, got '
            'batch size 1; '
            'train with 2 or more samples per GPU (or SyncBN), or set '
            f'{name}=dict(type=\'GN\', num_groups=...) or None')


class LinearMLP(nn.Sequential):
    """Linear -> activation -> Linear on (N, in_features) vectors.

    The bias-free excitation MLPs of SPA and FcaNet, kept as ``nn.Linear``
    so that the authors' ``fc.0``/``fc.2`` weights load without reshaping.
    Children: ``fc1``, ``act``, ``fc2``.
    """

    def __init__(self, in_features, hidden_features, out_features,
                 bias=False, act_cfg=dict(type='ReLU')):
        super().__init__(OrderedDict(
            fc1=nn.Linear(in_features, hidden_features, bias=bias),
            act=build_activation_layer(act_cfg),
            fc2=nn.Linear(hidden_features, out_features, bias=bias)))


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
