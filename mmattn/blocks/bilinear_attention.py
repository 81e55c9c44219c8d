"""BAT: the grouped bilinear attentional transform (a non-local block).

Paper: "Non-Local Neural Networks With Grouped Bilinear Attentional
Transforms", L. Chi, Z. Yuan, Y. Mu, C. Wang, CVPR 2020. Reference: the
authors' code (BA-Transform/BAT-Image-Classification, ``BATBlock`` and
``BATransform`` in ``model_zoo/non_local.py``); timm's ``BatNonLocalAttn``
is a port of it.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule

from ..checks import (check_bool, check_input, check_positive_int,
                      check_real)
from ..ops import adaptive_max_pool_strip
from .layers import pad_bottom_right, reduced_channels, zero_last_layer


class GroupedBilinearTransform(nn.Module):
    """The bilinear attentional transform of BAT: y = P x Q per channel
    group, then a 1x1 conv; keeps the shape.

    z = ReLU(BN(conv1x1(x))), C -> G maps (one per group). Row attention:
    the s x 1 max-pooled z (N, G, s, 1) goes through an (s x 1) conv to
    G s x s logits; P = sigmoid(logits), each row divided by its sum
    (computed as softmax(log sigmoid(logits)) in float32: equal, and finite
    where every sigmoid of a row underflows). Column attention: the same on
    the 1 x s pooled z with a (1 x s) conv; Q, each column divided by its
    sum. A map of H = s t rows and W = s u
    columns is read as an s x s grid of t x u cells: the transform mixes
    rows that sit at the same place in their cells,
    ``y[i t + a, j u + b] = sum_kl P[i, k] x[k t + a, l u + b] Q[l, j]``,
    i.e. ``(P kron I_t) x (Q kron I_u)`` (the authors' ``resize_mat``), the
    channels of group g using group g's P and Q. Then ReLU(BN(conv1x1(y))).

    Sizes: H and W are zero-padded at the end to multiples of s, and the
    output is cropped; P and Q come from the unpadded map. (The authors'
    code needs H and W to be multiples of s and uses H // s for both
    axes; timm's uses W // s for the columns, as here.)

    Args:
        in_channels (int): C.
        block_size (int): s. Defaults to 7.
        groups (int): G, dividing C. Defaults to 4.
        norm_cfg (dict): norm of the two 1x1 convs. Defaults to BN.

    State-dict keys: ``conv1.conv.weight``, ``conv1.bn.*``, ``conv_p.*``,
    ``conv_q.*``, ``conv2.conv.weight``, ``conv2.bn.*`` (timm's).
    """

    def __init__(self, in_channels, block_size=7, groups=4,
                 norm_cfg=dict(type='BN')):
        super().__init__()
        check_positive_int('in_channels', in_channels)
        check_positive_int('block_size', block_size)
        check_positive_int('groups', groups)
        if in_channels % groups:
            raise ValueError(f'groups must divide the transform\'s '
                             f'in_channels ({in_channels}), got {groups!r}')
        self.in_channels = in_channels
        self.block_size = block_size
        self.groups = groups
        s = block_size
        self.conv1 = ConvModule(in_channels, groups, 1, norm_cfg=norm_cfg)
        self.conv_p = nn.Conv2d(groups, s * s * groups, (s, 1))
        self.conv_q = nn.Conv2d(groups, s * s * groups, (1, s))
        self.conv2 = ConvModule(in_channels, in_channels, 1,
                                norm_cfg=norm_cfg)

    def attention(self, x):
        """P (N, G, s, s), rows summing to 1, and Q (N, G, s, s), columns
        summing to 1."""
        n, s, g = x.size(0), self.block_size, self.groups
        z = self.conv1(x)
        rows = adaptive_max_pool_strip(z, s, dim=2)  # (N, G, s, 1)
        cols = adaptive_max_pool_strip(z, s, dim=3)  # (N, G, 1, s)
        p = self.conv_p(rows).view(n, g, s, s)
        q = self.conv_q(cols).view(n, g, s, s)
        # sigmoid(l) / sum sigmoid(l) as softmax(logsigmoid(l)): the same
        # value, without the 0 / 0 of a row of sigmoids that all underflow
        # (logits below -88 in float32, -17 in float16)
        with torch.autocast(device_type=x.device.type, enabled=False):
            p = F.logsigmoid(p.float()).softmax(dim=3).to(x.dtype)
            q = F.logsigmoid(q.float()).softmax(dim=2).to(x.dtype)
        return p, q

    def forward(self, x):
        # a wrong width would otherwise fail inside conv1 or the grid view
        check_input(x, self.in_channels, module=self)
        n, c, h, w = x.shape
        s, g = self.block_size, self.groups
        p, q = self.attention(x)
        # (h + s - 1) // s: the ONNX export divides ints by truncation
        cells_h, cells_w = (h + s - 1) // s, (w + s - 1) // s
        padded = pad_bottom_right(x, cells_h * s - h, cells_w * s - w)
        grid = padded.view(n, g, c // g, s, cells_h, s, cells_w)
        y = torch.einsum('ngik,ngckalb,nglj->ngciajb', p, grid, q)
        y = y.reshape(n, c, s * cells_h, s * cells_w)[:, :, :h, :w]
        return self.conv2(y)


class BilinearAttentionTransform(nn.Module):
    """BAT block: x + dropout(ReLU(BN(conv(GBT(ReLU(BN(conv(x)))))))), a
    residual non-local block built on :class:`GroupedBilinearTransform`;
    keeps the shape.

    conv1: 1x1 C -> C' = C // ``reduction`` with BN and ReLU; the grouped
    bilinear transform on C'; conv2: 1x1 C' -> C with BN and ReLU;
    ``Dropout2d(dropout_ratio)``; plus x. The authors' defaults (their
    ``BATBlock``: r = 2, s = 7, k = 4 groups, dropout 0.2) and init (Kaiming
    fan-out convs, BN weight 1). The authors' 1x1 convs have biases before
    their BNs, which change nothing in training and fold into the running
    means; these (``ConvModule``'s) have none, as timm's.

    Args:
        in_channels (int): C.
        reduction (int): C' = C // reduction. Defaults to 2.
        block_size (int): s of the transform. Defaults to 7.
        groups (int): groups of the transform, dividing C'. Defaults to 4.
        dropout_ratio (float): channel dropout before the sum, in [0, 1).
            Defaults to 0.2.
        norm_cfg (dict): norm of every 1x1 conv. Defaults to BN.
        zero_init (bool): zero conv2's norm (its conv without one), so the
            block starts as the identity, for insertion into a pretrained
            network. Defaults to False (the authors' init).

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1.

    Init: the authors' (re-applied by :meth:`init_weights` after a
    backbone's ``init_cfg``).

    State-dict keys: ``conv1.*``, ``ba.*`` (see
    :class:`GroupedBilinearTransform`), ``conv2.*``: timm's
    ``BatNonLocalAttn`` state loads as it is (timm's defaults: C' =
    C / 4 rounded to 8, 2 groups).
    """

    role = 'plugin'  # see mmattn.blocks.catalog
    identity_init = dict(zero_init=True)  # starts as the identity: see catalog
    label = 'BAT'
    small_cfg = dict(block_size=3, groups=2)

    _abbr_ = 'bat'

    def __init__(self,
                 in_channels,
                 reduction=2,
                 block_size=7,
                 groups=4,
                 dropout_ratio=0.2,
                 norm_cfg=dict(type='BN'),
                 zero_init=False):
        super().__init__()
        check_bool('zero_init', zero_init)
        self.zero_init = zero_init
        self.hidden_channels = reduced_channels(in_channels, reduction)
        check_real('dropout_ratio', dropout_ratio)
        if not 0 <= dropout_ratio < 1:
            raise ValueError(f'dropout_ratio must be in [0, 1), got '
                             f'{dropout_ratio!r}')
        self.in_channels = in_channels
        self.conv1 = ConvModule(in_channels, self.hidden_channels, 1,
                                norm_cfg=norm_cfg)
        self.ba = GroupedBilinearTransform(self.hidden_channels, block_size,
                                           groups, norm_cfg)
        self.conv2 = ConvModule(self.hidden_channels, in_channels, 1,
                                norm_cfg=norm_cfg)
        self.dropout = nn.Dropout2d(dropout_ratio)
        self.init_weights()

    def init_weights(self):
        """The authors' init: Kaiming normal (fan-out, ReLU) for every conv,
        BN weight 1 and bias 0; with ``zero_init`` conv2 then outputs zeros."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out',
                                        nonlinearity='relu')
            elif isinstance(m, nn.modules.batchnorm._NormBase):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if self.zero_init:
            zero_last_layer(self.conv2)

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        y = self.conv2(self.ba(self.conv1(x)))
        return x + self.dropout(y)
