"""Pieces shared by the blocks: argument checks, global pooling, channel MLP.

Written once here so that every block validates its arguments and reduces
its input the same way.
"""
import numbers
from collections import OrderedDict

import torch.nn as nn
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


def check_input(x, in_channels):
    """Raise ValueError unless ``x`` is ``(N, in_channels, H, W)``."""
    if x.dim() != 4 or x.size(1) != in_channels:
        raise ValueError(
            f'x must have shape (N, {in_channels}, H, W), got '
            f'{tuple(x.shape)}')


def global_avg_pool(x):
    """Mean over H and W, keeping them as size 1: (N, C, H, W) -> (N, C, 1, 1).
    """
    return x.mean(dim=(2, 3), keepdim=True)


def global_max_pool(x):
    """Max over H and W, keeping them as size 1: (N, C, H, W) -> (N, C, 1, 1).

    ``amax`` instead of ``adaptive_max_pool2d``: the latter's CUDA backward is
    a scatter with atomics and fails under
    ``torch.use_deterministic_algorithms(True)``; ``amax``'s backward is a
    deterministic mask. Where several positions tie for the maximum, ``amax``
    splits the gradient evenly between them (the pool gives it all to one).
    """
    return x.amax(dim=(2, 3), keepdim=True)


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
