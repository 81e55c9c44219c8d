"""Triplet attention.

Paper: "Rotate to Attend: Convolutional Triplet Attention Module", D. Misra,
T. Nalamada, A. U. Arasanipalai, Q. Hou, WACV 2021 (arXiv:2010.03045).
Reference: the authors' code (landskape-ai/triplet-attention,
``TripletAttention``).
"""
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from ..checks import (check_bool, check_input, check_odd_kernel,
                      check_positive_int)


class ZPoolGate(nn.Module):
    """One branch of triplet attention on a (N, A, B, D) tensor: the max
    and the mean over axis 1 (Z-pool, 2 maps), a k x k conv 2 -> 1 without
    bias, a norm, a sigmoid; out = x * gate (broadcast over axis 1).

    Children ``conv.conv`` and ``conv.bn``, the authors' ``BasicConv``
    keys.
    """

    def __init__(self, kernel_size, norm_cfg):
        super().__init__()
        self.conv = ConvModule(2, 1, kernel_size,
                               padding=(kernel_size - 1) // 2, bias=False,
                               norm_cfg=norm_cfg, act_cfg=None)

    def forward(self, x):
        pooled = torch.cat([x.amax(dim=1, keepdim=True),
                            x.mean(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(pooled))


class TripletAttention(nn.Module):
    """Triplet attention: three Z-pool gates on the input seen from three
    sides; keeps the input shape.

    Branch cw treats H as the channel axis (gates over (C, W)), branch hc
    treats W as it (gates over (H, C)), branch hw is a spatial gate over
    (H, W) pooled across C; each is :class:`ZPoolGate` on the permuted
    input, permuted back. out = (cw + hc + hw) / 3, or (cw + hc) / 2
    without the spatial branch (the authors' ``no_spatial``). The
    parameters (3 x (2 k^2 + 2)) do not depend on C.

    The authors' norm is BN with momentum 0.01 and eps 1e-5, their default
    here.

    Args:
        in_channels (int): channels C of the input (checked only: no
            parameter depends on it).
        kernel_size (int): odd size k of the gates' convs. Defaults to 7.
        spatial (bool): keep the spatial (hw) branch. Defaults to True.
        norm_cfg (dict): norm after each gate's conv. Defaults to
            ``dict(type='BN', momentum=0.01, eps=1e-5)``.

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1.

    Init: ``ConvModule``'s (Kaiming conv, norm weight 1, bias 0).

    State-dict keys: ``cw.conv.conv.weight``, ``cw.conv.bn.*``, the same
    under ``hc`` and ``hw`` (the authors' names).
    """

    role = 'plugin'  # see mmattn.blocks.catalog
    label = 'Triplet'

    _abbr_ = 'triplet'

    def __init__(self,
                 in_channels,
                 kernel_size=7,
                 spatial=True,
                 norm_cfg=dict(type='BN', momentum=0.01, eps=1e-5)):
        super().__init__()
        check_positive_int('in_channels', in_channels)
        check_odd_kernel('kernel_size', kernel_size)
        check_bool('spatial', spatial)
        self.in_channels = in_channels
        self.cw = ZPoolGate(kernel_size, norm_cfg)
        self.hc = ZPoolGate(kernel_size, norm_cfg)
        self.hw = ZPoolGate(kernel_size, norm_cfg) if spatial else None

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        # (N, C, H, W) -> (N, H, C, W): H pooled, gate over (C, W)
        cw = self.cw(x.permute(0, 2, 1, 3)).permute(0, 2, 1, 3)
        # (N, C, H, W) -> (N, W, H, C): W pooled, gate over (H, C)
        hc = self.hc(x.permute(0, 3, 2, 1)).permute(0, 3, 2, 1)
        if self.hw is None:
            return (cw + hc) / 2
        return (cw + hc + self.hw(x)) / 3
