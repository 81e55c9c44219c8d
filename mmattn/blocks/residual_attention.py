"""Residual attention: an attention module of the Residual Attention Network.

Paper: "Residual Attention Network for Image Classification", F. Wang,
M. Jiang, C. Qian, S. Yang, C. Li, H. Zhang, X. Wang, X. Tang, CVPR 2017
(arXiv:1704.06904). Reference code: fwang91/residual-attention-network
(Caffe); tengshaofeng/ResidualAttentionNetwork-pytorch.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule

from ..checks import (check_bool, check_input, check_non_negative_int,
                      check_positive_int, renamed_arguments)
from ..ops import resize_bilinear

_PRE_ACTIVATION = ('norm', 'act', 'conv')


class PreActBottleneck(nn.Module):
    """Pre-activation bottleneck residual unit, the paper's building block:
    x + conv1x1(BN-ReLU(conv3x3(BN-ReLU(conv1x1(BN-ReLU(x)))))), widths
    C -> C / 4 -> C / 4 -> C, convs without bias. Keeps the shape."""

    def __init__(self, channels, hidden_channels, norm_cfg):
        super().__init__()

        def unit(cin, cout, kernel):
            return ConvModule(cin, cout, kernel, padding=kernel // 2,
                              bias=False, norm_cfg=norm_cfg,
                              act_cfg=dict(type='ReLU'),
                              order=_PRE_ACTIVATION)

        self.layers = nn.Sequential(unit(channels, hidden_channels, 1),
                                    unit(hidden_channels, hidden_channels, 3),
                                    unit(hidden_channels, channels, 1))

    def zero_init(self):
        """Zero the last conv: the unit becomes the identity."""
        nn.init.zeros_(self.layers[-1].conv.weight)

    def forward(self, x):
        return x + self.layers(x)


class ResidualAttention(nn.Module):
    """Attention module of a Residual Attention Network; keeps the input
    shape.

    out = post((1 + M) * T), with T = trunk(pre(x)) and M = mask(pre(x)):

    - ``pre``, ``trunk``, ``post``: p, t, p pre-activation bottleneck units
      (:class:`PreActBottleneck`);
    - soft mask M, with D down-samplings: D times (max pool 3x3 stride 2
      padding 1, then r units), keeping a skip unit of each of the first
      D - 1 scales; r more units at the lowest scale; then D - 1 times
      (bilinear upsampling to the size of the skip's scale, plus the skip,
      then r units); a last bilinear upsampling to H x W; then
      BN-ReLU-conv1x1-BN-ReLU-conv1x1 (C -> C -> C, no bias) and sigmoid.

    Every upsampling goes to the exact size of the map it is added to (the
    reference hard-codes sizes), so any H, W >= 1 works, odd ones included
    (max pooling with padding 1 gives ceil(H / 2)). Upsampling is bilinear
    with ``align_corners=False`` (the Caffe reference's aligns corners),
    through :func:`resize_bilinear`, so CUDA's deterministic mode works.

    Start as identity: the paper does not (MSRA init everywhere). With
    ``zero_init=True`` (the default here) the last conv of every unit and
    the last conv of the mask are zero, so every unit is the identity,
    T = x and M = sigmoid(0) = 0.5 everywhere: the block starts as the fixed
    scale 1.5 * x, the closest to the identity a (1 + M) * T form with a
    sigmoid mask allows (M = 0 would need an infinite logit and kill the
    mask's gradient). :meth:`init_weights` re-applies it after a backbone's
    ``init_cfg``.

    Args:
        in_channels (int): channels C of the input (>= ``reduction``).
        num_downsamples (int): D, the number of max-pool down-samplings in
            the mask. The paper uses 3, 2, 1 for its 56x56, 28x28 and 14x14
            stages. Defaults to 2.
        num_pre_units (int): p, units before and after (0 allowed).
            Defaults to 1.
        num_trunk_units (int): t, trunk units (0 allowed: T = pre(x)).
            Defaults to 2.
        num_mask_units (int): r, units per mask step. Defaults to 1.
        reduction (int): bottleneck width C // reduction of every residual
            unit. Formerly ``unit_reduction`` (deprecated name, accepted with
            a warning).
            Defaults to 4.
        norm_cfg (dict): norm of the units and the mask head (mmcv config).
            Defaults to BN.
        zero_init (bool): start as 1.5 * x (see above). Defaults to True.

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1.

    State-dict keys: ``pre.{i}``, ``trunk.{i}``, ``down.{d}.{i}``,
    ``skip.{d}``, ``bottom.{i}``, ``up.{d}.{i}`` (units,
    ``.layers.{0,1,2}.{conv,bn}``), ``mask_head.{0,1}``, ``post.{i}``.
    """

    role = 'plugin'  # see mmattn.blocks.catalog
    label = 'RA'
    small_cfg = dict(num_downsamples=1, num_pre_units=0, num_trunk_units=0,
                     reduction=16)

    _abbr_ = 'ra'

    @renamed_arguments(unit_reduction='reduction')
    def __init__(self,
                 in_channels,
                 num_downsamples=2,
                 num_pre_units=1,
                 num_trunk_units=2,
                 num_mask_units=1,
                 reduction=4,
                 norm_cfg=dict(type='BN'),
                 zero_init=True):
        super().__init__()
        check_positive_int('in_channels', in_channels)
        check_positive_int('num_downsamples', num_downsamples)
        check_non_negative_int('num_pre_units', num_pre_units)
        check_non_negative_int('num_trunk_units', num_trunk_units)
        check_positive_int('num_mask_units', num_mask_units)
        check_positive_int('reduction', reduction)
        if reduction > in_channels:
            raise ValueError(
                f'reduction must be <= in_channels ({in_channels}), got '
                f'{reduction!r}')
        hidden = in_channels // reduction
        check_bool('zero_init', zero_init)
        self.in_channels = in_channels
        self.num_downsamples = num_downsamples
        self.zero_init = zero_init

        def units(count):
            return nn.Sequential(*[
                PreActBottleneck(in_channels, hidden, norm_cfg)
                for _ in range(count)
            ])

        self.pre = units(num_pre_units)
        self.trunk = units(num_trunk_units)
        self.down = nn.ModuleList(
            units(num_mask_units) for _ in range(num_downsamples))
        self.skip = nn.ModuleList(
            PreActBottleneck(in_channels, hidden, norm_cfg)
            for _ in range(num_downsamples - 1))
        self.bottom = units(num_mask_units)
        self.up = nn.ModuleList(
            units(num_mask_units) for _ in range(num_downsamples - 1))
        self.mask_head = nn.Sequential(*[
            ConvModule(in_channels, in_channels, 1, bias=False,
                       norm_cfg=norm_cfg, act_cfg=dict(type='ReLU'),
                       order=_PRE_ACTIVATION) for _ in range(2)
        ])
        self.post = units(num_pre_units)
        self.init_weights()

    def init_weights(self):
        """Apply ``zero_init`` (see the class doc); nothing when False."""
        if not self.zero_init:
            return
        with torch.no_grad():
            for m in self.modules():
                if isinstance(m, PreActBottleneck):
                    m.zero_init()
            nn.init.zeros_(self.mask_head[-1].conv.weight)

    @staticmethod
    def _upsample(x, like):
        return resize_bilinear(x, like.shape[2:])

    def soft_mask(self, x):
        """M in (0, 1), (N, C, H, W): the bottom-up top-down mask of x."""
        skips = []
        y = x
        for level, down in enumerate(self.down):
            y = down(F.max_pool2d(y, 3, stride=2, padding=1))
            if level < len(self.skip):
                skips.append(self.skip[level](y))
        y = self.bottom(y)
        for skip, up in zip(reversed(skips), reversed(self.up)):
            y = up(self._upsample(y, skip) + skip)
        return self.mask_head(self._upsample(y, x)).sigmoid()

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        x = self.pre(x)
        return self.post((1 + self.soft_mask(x)) * self.trunk(x))
