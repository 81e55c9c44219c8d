"""Coordinate attention.

Paper: "Coordinate Attention for Efficient Mobile Network Design", Q. Hou,
D. Zhou, J. Feng, CVPR 2021 (arXiv:2103.02907). Reference: the authors' code
(houqb/CoordAttention, ``CoordAtt``).
"""
import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer

from ..checks import check_bool, check_input, check_positive_int


class CoordinateAttention(nn.Module):
    """Coordinate attention: a gate per row and a gate per column; keeps the
    input shape.

    z_h = mean of x over W (N, C, H, 1), z_w = mean over H, laid out as
    (N, C, W, 1); f = act(norm(conv1([z_h; z_w]))) on the concatenation
    along the spatial axis, conv1 a 1x1 conv C -> C'; f splits back into
    f_h (H rows) and f_w (W columns); g_h = sigmoid(conv_h(f_h)),
    g_w = sigmoid(conv_w(f_w)), 1x1 convs C' -> C;
    out(c, i, j) = x(c, i, j) * g_h(c, i) * g_w(c, j).

    Defaults follow the authors' code: C' = max(min_channels, C //
    reduction) with 32 and 8, convs with bias, BN, h-swish. timm's
    ``CoordAttn`` computes the same with other defaults (C' from 1/16 * 2/3
    rounded to a multiple of 8, no conv bias); its weights load with
    ``hidden_channels=<its conv1 width>, bias=False`` (same state-dict
    keys), as ``tests/blocks/test_new_channel_gates.py`` checks.

    Args:
        in_channels (int): channels C of the input.
        reduction (int): r in C' = max(min_channels, C // r). Defaults to
            32.
        min_channels (int): lower bound of C'. Defaults to 8.
        hidden_channels (int, optional): C' itself (overrides the rule).
        bias (bool): bias of the three convs. Defaults to True.
        norm_cfg (dict, optional): norm after conv1. Defaults to BN.
        act_cfg (dict): activation after the norm. Defaults to
            ``dict(type='HSwish')``.

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1.

    Init: PyTorch's default (the authors' code keeps it).

    State-dict keys: ``conv1.*``, ``bn1.*``, ``conv_h.*``, ``conv_w.*`` (the
    authors' and timm's names).
    """

    role = 'plugin'  # see mmattn.blocks.catalog
    label = 'CoordAtt'

    _abbr_ = 'coord'

    def __init__(self,
                 in_channels,
                 reduction=32,
                 min_channels=8,
                 hidden_channels=None,
                 bias=True,
                 norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='HSwish')):
        super().__init__()
        check_positive_int('in_channels', in_channels)
        check_positive_int('reduction', reduction)
        check_positive_int('min_channels', min_channels)
        check_positive_int('hidden_channels', hidden_channels,
                           allow_none=True)
        check_bool('bias', bias)
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels or max(
            min_channels, in_channels // reduction)
        hidden = self.hidden_channels
        self.conv1 = nn.Conv2d(in_channels, hidden, 1, bias=bias)
        self.bn1 = (build_norm_layer(norm_cfg, hidden)[1] if norm_cfg
                    else nn.Identity())
        self.act = build_activation_layer(act_cfg)
        self.conv_h = nn.Conv2d(hidden, in_channels, 1, bias=bias)
        self.conv_w = nn.Conv2d(hidden, in_channels, 1, bias=bias)

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        h, w = x.shape[2:]
        rows = x.mean(dim=3, keepdim=True)  # (N, C, H, 1)
        cols = x.mean(dim=2, keepdim=True).transpose(2, 3)  # (N, C, W, 1)
        f = self.act(self.bn1(self.conv1(torch.cat([rows, cols], dim=2))))
        f_rows, f_cols = f.split([h, w], dim=2)
        gate_rows = torch.sigmoid(self.conv_h(f_rows))  # (N, C, H, 1)
        gate_cols = torch.sigmoid(self.conv_w(f_cols.transpose(2, 3)))
        return x * gate_rows * gate_cols
