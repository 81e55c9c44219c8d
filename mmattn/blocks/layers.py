"""Layers and rules the blocks share: the excitation MLPs, the squeeze
width, and the batch-of-one check for BN over pooled vectors.

Argument checks are in :mod:`mmattn.checks`; pooling and resizing kernels in
:mod:`mmattn.ops`.
"""
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer

from ..checks import (check_bool, check_odd_kernel, check_positive_int,
                      check_same_padding)

__all__ = ['ChannelMLP', 'LinearMLP', 'RelativePositionTables',
           'check_attention_conv_arguments', 'pad_bottom_right',
           'reduced_channels',
           'refuse_single_sample_batch_norm', 'rename_state_keys',
           'stride_and_bias']


def reduced_channels(in_channels, reduction, min_channels=1):
    """Hidden width of a squeeze MLP: ``max(min_channels, C // reduction)``.

    The SE/CBAM papers' rule. ``reduction`` may not exceed ``in_channels``
    (a wider bottleneck than the input is a configuration mistake).
    """
    check_positive_int('in_channels', in_channels)
    check_positive_int('reduction', reduction)
    check_positive_int('min_channels', min_channels)
    if reduction > in_channels:
        raise ValueError(
            f'reduction must be <= in_channels ({in_channels}), got '
            f'{reduction!r}')
    return max(min_channels, in_channels // reduction)


class ChannelMLP(nn.Sequential):
    """1x1 conv (bias) -> activation -> 1x1 conv (bias): C -> hidden -> C.

    The excitation MLP of SE and CBAM's channel gate (``bias=False``: light
    CBAM's). A 1x1 conv on a
    (N, C, 1, 1) map is a fully connected layer; its weight is the Linear
    weight viewed as (out, in, 1, 1). Children: ``fc1``, ``act``, ``fc2``.
    """

    def __init__(self, in_channels, hidden_channels,
                 act_cfg=dict(type='ReLU'), bias=True):
        super().__init__(OrderedDict(
            fc1=nn.Conv2d(in_channels, hidden_channels, 1, bias=bias),
            act=build_activation_layer(act_cfg),
            fc2=nn.Conv2d(hidden_channels, in_channels, 1, bias=bias)))


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


def zero_last_layer(module):
    """Zero the last affine layer of ``module`` in place, so that it
    outputs zeros at init: the weight and bias of its last norm, or of its
    last conv where it has no norm. A residual block ``x + f(x)`` whose
    ``f`` ends in ``module`` (after a ReLU too: ReLU(0) = 0) then starts as
    the identity, as ResNet's ``zero_init_residual`` does for its blocks.

    Args:
        module (nn.Module): e.g. a ``ConvModule`` or ``Sequential(conv,
            norm)``.
    """
    norms = [m for m in module.modules()
             if isinstance(m, (nn.modules.batchnorm._NormBase, nn.GroupNorm,
                               nn.LayerNorm)) and m.weight is not None]
    convs = [m for m in module.modules()
             if isinstance(m, nn.modules.conv._ConvNd)]
    last = norms[-1] if norms else convs[-1]
    with torch.no_grad():
        nn.init.zeros_(last.weight)
        if last.bias is not None:
            nn.init.zeros_(last.bias)


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


def rename_state_keys(state_dict, renames, source):
    """A copy of ``state_dict`` with each key's prefix renamed.

    The shared step of the blocks' ``convert_timm_state_dict``: every key
    must start with one of ``renames``' prefixes (the longest match wins),
    so a state dict of another layout fails here, naming the key, instead
    of loading half-way.

    Args:
        state_dict (Mapping[str, Tensor]): the other library's state dict.
        renames (dict[str, str]): old key prefix -> new key prefix.
        source (str): what ``state_dict`` is, for the message (e.g.
            ``"timm's CbamModule"``).

    Returns:
        OrderedDict[str, Tensor]: the renamed entries, in their order.
    """
    out = OrderedDict()
    prefixes = sorted(renames, key=len, reverse=True)
    for key, value in state_dict.items():
        old = next((p for p in prefixes if key.startswith(p)), None)
        if old is None:
            raise KeyError(
                f'state_dict has key {key!r}, which is not part of '
                f'{source} (expected keys starting with {sorted(renames)})')
        out[renames[old] + key[len(old):]] = value
    return out


def check_attention_conv_arguments(in_channels, out_channels, kernel_size,
                                   stride, padding, dilation, groups, bias,
                                   num_heads, even_heads=False):
    """Check the conv arguments ``build_conv_layer`` gives an attention layer
    that replaces a k x k conv (SASA, BoT, halo, lambda), and its heads.

    The layers keep H x W before the stride, so ``padding`` must be None or
    the size-keeping one; ``groups`` must be 1 (the heads group channels);
    ``kernel_size`` must be odd (it names the conv replaced, not the
    attention's extent).

    Returns:
        int: ``out_channels`` (``in_channels`` when None), divisible by
        ``num_heads`` (into an even head width with ``even_heads``).
    """
    check_positive_int('in_channels', in_channels)
    check_positive_int('out_channels', out_channels, allow_none=True)
    out_channels = in_channels if out_channels is None else out_channels
    check_odd_kernel('kernel_size', kernel_size)
    check_positive_int('stride', stride)
    check_positive_int('dilation', dilation)
    check_same_padding(padding, kernel_size, dilation,
                       'the layer keeps H x W before the stride')
    if groups != 1 or isinstance(groups, bool):
        raise ValueError(f'groups must be 1 (use num_heads), got {groups!r}')
    check_bool('bias', bias)
    check_positive_int('num_heads', num_heads)
    if out_channels % num_heads or (
            even_heads and (out_channels // num_heads) % 2):
        even = ' an even head width (half of it for the row and half for ' \
            'the column embedding)' if even_heads else ' a head width'
        raise ValueError(
            f'out_channels ({out_channels}) must be num_heads '
            f'({num_heads}) times{even}')
    return out_channels


def stride_and_bias(out, stride, bias):
    """The end of an attention conv: ``stride`` x ``stride`` average pooling
    (the papers' down-sampling), then the optional output ``bias`` (C,).

    ``ceil_mode`` makes the size ceil(H / s), that of the strided 3x3 conv
    replaced (odd sizes included); ``count_include_pad=False`` is the same
    in PyTorch (the padding is 0) and tells ONNX runtimes to average a
    clipped window over its valid pixels only, as PyTorch does.
    """
    if stride > 1:
        out = F.avg_pool2d(out, stride, stride, ceil_mode=True,
                           count_include_pad=False)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1).to(out.dtype)
    return out


def pad_bottom_right(x, pad_h, pad_w):
    """``x`` (N, C, H, W) with ``pad_h`` zero rows and ``pad_w`` zero columns
    after its last (halo attention's and BAT's whole blocks).

    Concatenated zeros, not ``F.pad``: the TorchScript ONNX exporter records
    their sizes from the input's shape, where it would freeze ``F.pad``'s
    amounts at the export size.
    """
    n, c, h, _ = x.shape
    x = torch.cat([x, x.new_zeros(n, c, h, pad_w)], dim=3)
    return torch.cat([x, x.new_zeros(n, c, pad_h, x.size(3))], dim=2)


class RelativePositionTables(nn.Module):
    """The learned row and column offset tables of BoTNet's and HaloNet's
    relative position logits (see :mod:`mmattn.ops.relative_position`).

    Parameters ``height_rel`` (rows, d) and ``width_rel`` (columns, d): one
    vector per row or column offset, shared by the heads; initialised
    N(0, 1/d), the scale of a unit-variance query's dot product.

    Args:
        rows (int): row offsets the table covers (2 H - 1 for H rows).
        columns (int): column offsets (2 W - 1).
        channels (int): d, the head width.
    """

    def __init__(self, rows, columns, channels):
        super().__init__()
        self.height_rel = nn.Parameter(torch.empty(rows, channels))
        self.width_rel = nn.Parameter(torch.empty(columns, channels))
        self.reset_parameters()

    def reset_parameters(self):
        std = self.height_rel.size(1)**-0.5
        nn.init.normal_(self.height_rel, std=std)
        nn.init.normal_(self.width_rel, std=std)
