"""Global context block (GCNet).

Paper: "GCNet: Non-local Networks Meet Squeeze-Excitation Networks and
Beyond", Y. Cao, J. Xu, S. Lin, F. Wei, H. Hu, ICCV Workshops 2019
(arXiv:1904.11492). Upstream module: ``mmcv.cnn.ContextBlock``.

The non-local block's attention maps turn out nearly the same for every
query position, so GCNet computes one query-independent map: a softmax over
positions pools the whole map into a single context vector, a bottleneck
transforms it, and it is added to (or multiplies) every position. Cost is
O(P * C) per image.
"""
import torch
import torch.nn as nn

from ..checks import (TypeAssertionError, ValueAssertionError, check_choice,
                      check_input, check_positive_int, check_real)
from ..ops import global_avg_pool
from .layers import rename_state_keys

_POOLING_TYPES = ('att', 'avg')
_FUSION_TYPES = ('channel_add', 'channel_mul')



class _GlobalAvgPool(nn.AdaptiveAvgPool2d):
    """mmcv's ``avg_pool`` (an ``AdaptiveAvgPool2d(1)``) computed by
    :func:`mmattn.ops.global_avg_pool`, which keeps the reduction in the
    input's precision under autocast."""

    def __init__(self):
        super().__init__(1)

    def forward(self, x):
        return global_avg_pool(x)


class GlobalContext(nn.Module):
    """Global context block; keeps the input shape.

    Context modelling: c = sum_p softmax_p(conv_mask(x))_p * x_p with a 1x1
    conv C -> 1 (``pooling_type='att'``), or c = GAP(x) (``'avg'``); c is
    (N, C, 1, 1). Transform, one per fusion: 1x1 conv C -> C_r,
    LayerNorm([C_r, 1, 1]), ReLU, 1x1 conv C_r -> C, with
    ``C_r = int(C * ratio)``. Fusion: out = x * sigmoid(T_mul(c)) if
    'channel_mul' is used, then out = out + T_add(c) if 'channel_add' is.

    A drop-in for ``mmcv.cnn.ContextBlock``: the same arguments, parameter
    names (``conv_mask``, ``channel_add_conv``, ``channel_mul_conv``; the
    LayerNorm at index 1, the last conv at index 3), init, plugin name
    (``context_block``), outputs and gradients.

    Args:
        in_channels (int): channels C of the input.
        ratio (float): bottleneck ratio; needs ``int(C * ratio) >= 1``.
            GCNet uses 1/16 (detection backbones) and mmseg's ``GCHead``
            1/4.
        pooling_type (str): 'att' (softmax attention pooling) or 'avg'
            (global average pooling). Defaults to 'att'.
        fusion_types (tuple[str] | list[str]): non-empty, of 'channel_add'
            and 'channel_mul'. Defaults to ('channel_add', ).

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1.

    Init (mmcv's): ``conv_mask`` Kaiming normal (fan_in, ReLU gain) with
    zero bias; the last conv of each transform zero (weight and bias), so
    the block starts as the identity ('channel_mul' starts as x * 0.5, as
    in mmcv). :meth:`init_weights` re-applies it, so that a backbone whose
    ``init_cfg`` Kaiming-initialises every ``Conv2d`` (mmdet/mmseg ResNet)
    still starts the block as the identity; mmengine calls a child's
    ``init_weights`` after the parent's ``init_cfg`` and before a
    ``Pretrained`` checkpoint, which therefore wins. (mmcv's ContextBlock has
    no ``init_weights`` and is re-initialised by such a backbone.)

    Precision: the attention logits and their softmax are computed in
    float32 (float64 for float64 inputs) with autocast off, and the pooling
    in the input's dtype with autocast off, so float16/bfloat16 autocast
    with inputs of magnitude 1e2 neither overflows nor moves the weights;
    the transforms follow autocast like any conv.
    """

    picture = 'global_context'  # how mmattn.visualization draws it

    role = 'plugin'  # see mmattn.blocks.catalog
    identity_init = {}  # starts as the identity: see catalog
    label = 'GC (1/16)'
    plugin_cfg = dict(ratio=1. / 16)

    _abbr_ = 'context_block'

    def __init__(self,
                 in_channels,
                 ratio,
                 pooling_type='att',
                 fusion_types=('channel_add', )):
        super().__init__()
        check_positive_int('in_channels', in_channels)
        check_real('ratio', ratio, positive=True)
        # mmcv's ContextBlock asserts these: its callers catch
        # AssertionError, ours ValueError/TypeError; the errors are both
        check_choice('pooling_type', pooling_type, _POOLING_TYPES,
                     error=ValueAssertionError)
        if not isinstance(fusion_types, (list, tuple)) or not fusion_types:
            raise TypeAssertionError(
                'fusion_types must be a non-empty list or tuple of '
                f'{_FUSION_TYPES!r}, got {fusion_types!r}')
        for fusion in fusion_types:
            check_choice('every entry of fusion_types', fusion,
                         _FUSION_TYPES, error=ValueAssertionError)
        planes = int(in_channels * ratio)
        if planes < 1:
            raise ValueError(
                f'ratio must give int(in_channels * ratio) >= 1 (in_channels'
                f'={in_channels}), got {ratio!r}')
        self.in_channels = in_channels
        self.ratio = ratio
        self.planes = planes
        self.pooling_type = pooling_type
        self.fusion_types = fusion_types

        # mmcv's attributes: conv_mask and softmax, or avg_pool
        if pooling_type == 'att':
            self.conv_mask = nn.Conv2d(in_channels, 1, kernel_size=1)
            self.softmax = nn.Softmax(dim=2)
        else:
            self.avg_pool = _GlobalAvgPool()
        self.channel_add_conv = (self._transform()
                                 if 'channel_add' in fusion_types else None)
        self.channel_mul_conv = (self._transform()
                                 if 'channel_mul' in fusion_types else None)
        self.init_weights()

    def _transform(self):
        # indices 0, 1, 3 hold the parameters, as in mmcv's state dict
        return nn.Sequential(
            nn.Conv2d(self.in_channels, self.planes, kernel_size=1),
            nn.LayerNorm([self.planes, 1, 1]),
            nn.ReLU(inplace=True),
            nn.Conv2d(self.planes, self.in_channels, kernel_size=1))

    def init_weights(self):
        """mmcv's init: Kaiming ``conv_mask``, zero last transform convs
        (see the class doc for why it is re-applied)."""
        if self.pooling_type == 'att':
            nn.init.kaiming_normal_(self.conv_mask.weight, mode='fan_in',
                                    nonlinearity='relu')
            nn.init.zeros_(self.conv_mask.bias)
        for transform in (self.channel_add_conv, self.channel_mul_conv):
            if transform is not None:
                nn.init.zeros_(transform[-1].weight)
                nn.init.zeros_(transform[-1].bias)

    @staticmethod
    def convert_timm_state_dict(state_dict):
        """timm ``GlobalContext`` state -> this block's.

        timm's ``conv_attn`` is ``conv_mask``, ``mlp_add``/``mlp_scale``
        (fc1, norm, fc2) are ``channel_add_conv``/``channel_mul_conv`` (0, 1,
        3); its ``LayerNorm2d`` weights (C_r,) become (C_r, 1, 1). Build the
        block with timm's width (``ratio=1/8`` for its default) and fusion:
        ``('channel_mul',)`` for timm's default ``fuse_scale=True``,
        ``('channel_add',)`` for ``create_attn('gca')``. The LayerNorm's
        epsilon differs (1e-5 here, mmcv's; 1e-6 in timm), which moves
        outputs by a few 1e-6 relative."""
        renames = {'conv_attn.': 'conv_mask.'}
        for theirs, ours in (('mlp_add', 'channel_add_conv'),
                             ('mlp_scale', 'channel_mul_conv')):
            renames.update({f'{theirs}.fc1.': f'{ours}.0.',
                            f'{theirs}.norm.': f'{ours}.1.',
                            f'{theirs}.fc2.': f'{ours}.3.'})
        out = rename_state_keys(state_dict, renames, "timm's GlobalContext")
        for key, value in out.items():
            if '_conv.1.' in key:
                out[key] = value.reshape(-1, 1, 1)
        return out

    def reset_parameters(self):
        """mmcv's ``ContextBlock`` name for :meth:`init_weights` (drop-in)."""
        self.init_weights()

    def spatial_pool(self, x):
        """The context vector c of x: (N, C, H, W) -> (N, C, 1, 1)."""
        if self.pooling_type == 'avg':
            return self.avg_pool(x)
        n, c = x.shape[:2]
        flat = x.flatten(2)  # (N, C, P)
        dtype = torch.promote_types(x.dtype, torch.float32)
        with torch.autocast(x.device.type, enabled=False):
            # the logits in float32 too, not only their softmax: float16
            # rounding of a logit of a few hundred is a fraction of a unit,
            # which scales its weight by e^(that fraction).
            # (N, 1, C) @ (N, C, P) by bmm: matmul would fold the batch into
            # a (N * P, C) copy of x
            weight = self.conv_mask.weight.view(1, 1, c).to(dtype)
            logits = torch.baddbmm(self.conv_mask.bias.to(dtype).view(1, 1, 1),
                                   weight.expand(n, -1, -1), flat.to(dtype))
            weights = self.softmax(logits)  # (N, 1, P): over positions
            context = torch.bmm(flat, weights.to(x.dtype).transpose(1, 2))
        return context.view(n, c, 1, 1)

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        context = self.spatial_pool(x)
        if self.channel_mul_conv is None:
            return x + self.channel_add_conv(context)
        scale = torch.sigmoid(self.channel_mul_conv(context))
        if self.channel_add_conv is None:
            return x * scale
        # x * scale + add in one pass over x
        return torch.addcmul(self.channel_add_conv(context), x, scale)

    def extra_repr(self):
        return (f'in_channels={self.in_channels}, ratio={self.ratio}, '
                f'pooling_type={self.pooling_type!r}, '
                f'fusion_types={tuple(self.fusion_types)!r}')
