"""Criss-cross attention (CCNet).

Paper: "CCNet: Criss-Cross Attention for Semantic Segmentation", Z. Huang,
X. Wang, L. Huang, C. Huang, Y. Wei, W. Liu, ICCV 2019 (arXiv:1811.11721).
Upstream module: ``mmcv.ops.CrissCrossAttention`` (pure PyTorch since mmcv
1.3.13, but shipped only with the compiled mmcv package).

Each position attends to the H + W - 1 positions of its own column and row,
so the attention costs O(P * (H + W)) memory and O(P * (H + W) * C) time for
P = H * W positions instead of the non-local block's O(P^2). Applied twice
with shared weights (the head's ``recurrence``), information reaches every
position from every other.
"""
import torch
import torch.nn as nn
from mmcv.cnn import Scale

from ..checks import check_input
from .layers import reduced_channels


class CrissCrossAttention(nn.Module):
    """Criss-cross attention block; keeps the input shape.

    q = conv1x1(x), k = conv1x1(x) with C' = C // 8 channels, v = conv1x1(x)
    with C channels (all with bias). For position u = (h, w), the energies
    are q_u . k_(i, w) for every row i of u's column (the i = h entry set to
    -inf, so that u itself is counted once, by its row) and q_u . k_(h, j)
    for every column j of u's row. One softmax runs over these H + W logits;
    out_u = sum_i A_(u, i) v_(i, w) + sum_j A_(u, H + j) v_(h, j) and
    y = gamma * out + x.

    A drop-in for ``mmcv.ops.CrissCrossAttention``: same argument, the same
    parameter names (``query_conv``, ``key_conv``, ``value_conv``,
    ``gamma.scale``) so its state dict loads strictly, and the same outputs
    and gradients. It does not apply itself ``recurrence`` times; that is
    the head's business (mmseg's ``CCHead`` calls it repeatedly).

    Args:
        in_channels (int): channels C of the input.
        reduction (int): C' = C // reduction for query and key, at least 1.
            Defaults to 8 (mmcv's fixed value; 1 <= reduction <= C).

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1.

    Init: PyTorch's default for the convs; gamma = 0, so the block starts as
    the identity.

    Precision: q, k, the energies and their softmax are computed in float32
    (float64 for float64 inputs) with autocast off: the logits are sums of
    C' products of unbounded features, which overflow float16 and lose
    several units to float16/bfloat16 rounding. The weights are then applied
    in the dtype of ``v``, which follows autocast like a conv.
    """

    picture = 'criss_cross'  # how mmattn.visualization draws it

    role = 'plugin'  # see mmattn.blocks.catalog
    identity_init = {}  # starts as the identity: see catalog
    label = 'CC'

    def __init__(self, in_channels, reduction=8):
        super().__init__()
        self.query_channels = reduced_channels(in_channels, reduction)
        self.in_channels = in_channels
        self.reduction = reduction
        self.query_conv = nn.Conv2d(in_channels, self.query_channels, 1)
        self.key_conv = nn.Conv2d(in_channels, self.query_channels, 1)
        self.value_conv = nn.Conv2d(in_channels, in_channels, 1)
        self.gamma = Scale(0.)

    def _project(self, x):
        """q, k and v, laid out channels-last (N, H, W, C_i).

        Channels-last is the layout both attention products want: the row
        batch (n, h) of (W, C) matrices is then a plain view, so neither
        product copies v first, and the GEMM writes it at no extra cost.
        q and k are computed in (at least) float32 with autocast off: they
        are the energies' factors, and an energy of a few thousand rounded
        to float16/bfloat16 precision is off by several units, which moves
        the softmax. v follows autocast.
        """
        n, _, h, w = x.shape
        flat = x.flatten(2).transpose(1, 2)  # (N, P, C), a view
        dtype = torch.promote_types(x.dtype, torch.float32)
        with torch.autocast(x.device.type, enabled=False):
            weight = torch.cat(
                [self.query_conv.weight, self.key_conv.weight]).flatten(1)
            bias = torch.cat([self.query_conv.bias, self.key_conv.bias])
            query_key = torch.baddbmm(
                bias.to(dtype), flat.to(dtype),
                weight.t().to(dtype).expand(n, -1, -1))
        value = torch.baddbmm(
            self.value_conv.bias, flat,
            self.value_conv.weight.flatten(1).t().expand(n, -1, -1))
        # explicit widths, not -1: N may be 0
        query, key = query_key.view(n, h, w, query_key.size(-1)).split(
            self.query_channels, dim=-1)
        return query, key, value.view(n, h, w, value.size(-1))

    @staticmethod
    def attention_weights(query, key):
        """Softmax over each position's column and row: (N, H, W, H + W).

        ``[..., :H]`` are the weights of the column (index i = row of the
        key), ``[..., H:]`` those of the row (index j = column of the key).
        At least float32, whatever the inputs' dtype.

        Args:
            query, key: (N, H, W, C') channels-last.
        """
        height = query.size(1)
        dtype = torch.promote_types(query.dtype, torch.float32)
        with torch.autocast(query.device.type, enabled=False):
            query, key = query.to(dtype), key.to(dtype)
            # batched over (n, h): (W, C') @ (C', W)
            row = torch.matmul(query, key.transpose(-1, -2))
            # batched over (n, w): (H, C') @ (C', H)
            column = torch.matmul(query.transpose(1, 2),
                                  key.permute(0, 2, 3, 1))
            # u sits in both its column and its row; -inf keeps it to the
            # row's entry (a finite "large" negative constant is not: the
            # energies are unbounded and may reach it)
            rows = torch.arange(height, device=query.device)
            # not torch.eye: ONNX Runtime has no boolean EyeLike
            self_mask = rows[:, None] == rows
            column = column.masked_fill(self_mask, float('-inf'))
            logits = torch.cat([column.transpose(1, 2), row], dim=-1)
            return torch.softmax(logits, dim=-1)

    @staticmethod
    def aggregate(weights, value):
        """sum over column and row of weights * value: (N, H, W, C).

        Args:
            weights: (N, H, W, H + W) from :meth:`attention_weights`.
            value: (N, H, W, C) channels-last; sets the output dtype.
        """
        height = value.size(1)
        with torch.autocast(value.device.type, enabled=False):
            weights = weights.to(value.dtype)
            row = torch.matmul(weights[..., height:], value)
            column = torch.matmul(weights[..., :height].transpose(1, 2),
                                  value.transpose(1, 2))
            return row + column.transpose(1, 2)

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        query, key, value = self._project(x)
        out = self.aggregate(self.attention_weights(query, key), value)
        # gamma * out + x in one pass; the channels-last out is read through
        # a permuted view, the result follows x's layout
        return torch.addcmul(x, out.permute(0, 3, 1, 2), self.gamma.scale)

    def extra_repr(self):
        return (f'in_channels={self.in_channels}, '
                f'query_channels={self.query_channels}')
