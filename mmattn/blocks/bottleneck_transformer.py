"""Bottleneck-transformer self-attention (BoTNet's MHSA) as a conv layer.

Paper: "Bottleneck Transformers for Visual Recognition", A. Srinivas,
T.-Y. Lin, N. Parmar, J. Shlens, P. Abbeel, A. Vaswani, CVPR 2021
(arXiv:2101.11605). Reference: the authors' TensorFlow gist
(aravindsrinivas/56359b79f0ce4449bcb04ab4b56a57a2); timm's
``BottleneckAttn`` is a port of it.
"""
import torch
import torch.nn as nn
from torch.nn.modules.utils import _pair

from ..checks import check_input, check_positive_int
from ..ops import (dot_product_attention, relative_index,
                   relative_position_terms)
from .layers import (RelativePositionTables, check_attention_conv_arguments,
                     stride_and_bias)


class BottleneckSelfAttentionConv(nn.Module):
    """BoTNet's all-to-all multi-head self-attention with 2D relative
    position logits, a drop-in for a 3x3 conv.

    q, k, v = one bias-free 1x1 conv C_in -> 3 C_out (``qkv``), split in
    that order, each into ``num_heads`` heads of d = C_out / heads channels
    (head-major). For the query at p = (y, x) and every key at
    p' = (y', x') of the map, per head::

        logit_pp' = d^-1/2 (q_p . k_p' + q_p . r_h[y' - y] + q_p . r_w[x' - x])
        out_p     = sum_p' softmax_p'(logit) v_p'

    r_h, r_w the learned row and column offset tables (2 F_h - 1 and
    2 F_w - 1 vectors of d, for the largest map ``feat_size`` = (F_h, F_w)),
    shared by the heads. The 1/sqrt(d) scales the position logits too, as in
    the authors' gist (it scales q); timm's ``BottleneckAttn`` leaves them
    unscaled by default and equals this layer with ``scale_pos_embed=True``.
    Logits, softmax and the weighted sum run in float32 with autocast off,
    through :func:`mmattn.ops.dot_product_attention` (see :meth:`attend`).
    With ``stride`` s > 1, an s x s average pool follows (the paper's
    down-sampling in the first c5 block), with ``ceil_mode``: ceil(H / s).

    Any map up to ``feat_size`` works, with exactly the weights it would get
    in a map of that size: the logit of an offset reads the same table row
    whatever the map size (timm's layer accepts ``feat_size`` only). A
    larger map is refused, naming ``feat_size``.

    As a conv layer: registered as ``mmattn.BottleneckSelfAttentionConv``,
    ``dcn=dict(type='mmattn.BottleneckSelfAttentionConv', feat_size=...)``
    with ``stage_with_dcn=(False, False, False, True)`` in mmseg/mmdet's
    ResNet is BoTNet's c5 (the paper replaces the 3x3 convs of the last
    stage). ``kernel_size`` must be odd and has no effect (the attention is
    global); ``padding`` must be None or the size-keeping one; ``dilation``
    (mmseg's D8 stages) has no effect on a global attention and is accepted
    so the layer fits dilated stages; ``groups`` must be 1.

    Args:
        in_channels (int): C_in.
        out_channels (int, optional): C_out, divisible by ``num_heads``.
            Defaults to ``in_channels``.
        kernel_size (int): see above. Defaults to 3.
        stride (int): see above. Defaults to 1.
        padding (int, optional): see above. Defaults to None.
        dilation (int): see above. Defaults to 1.
        groups (int): must be 1. Defaults to 1.
        bias (bool): a learned output bias. Defaults to False.
        num_heads (int): heads (the paper's 4). Defaults to 4.
        feat_size (int | tuple[int, int]): the largest (H, W) the layer
            takes. Defaults to 64 (c5 of a 2048 x 2048 image; a 512 x 1024
            crop gives 64 x 128 in mmseg's D8 models: set it).

    Shapes:
        input (N, C_in, H, W) -> output (N, C_out, ceil(H / s),
        ceil(W / s)); 1 <= H <= F_h, 1 <= W <= F_w. Time grows as (H W)^2
        per head; memory as H W (H + W + d) on CPU, whose chunked attention
        holds one block of logits at a time.

    Init: PyTorch's default for ``qkv`` (a backbone's ``init_cfg``
    overrides it); the offset tables are normal with std d^-1/2.

    State-dict keys: ``qkv.weight``, ``pos_embed.height_rel`` (2 F_h - 1,
    d), ``pos_embed.width_rel`` (2 F_w - 1, d), ``bias``; timm's
    ``BottleneckAttn`` state loads as it is (same ``feat_size``; its qk width
    must be C_out, which it is when C_out is a multiple of 8).
    """

    role = 'conv'  # see mmattn.blocks.catalog
    label = 'BoT MHSA'

    _abbr_ = 'bot_mhsa'

    def __init__(self,
                 in_channels,
                 out_channels=None,
                 kernel_size=3,
                 stride=1,
                 padding=None,
                 dilation=1,
                 groups=1,
                 bias=False,
                 num_heads=4,
                 feat_size=64):
        super().__init__()
        out_channels = check_attention_conv_arguments(
            in_channels, out_channels, kernel_size, stride, padding,
            dilation, groups, bias, num_heads)
        feat_size = _pair(feat_size)
        if len(feat_size) != 2:
            raise ValueError(f'feat_size must be an int or a pair (H, W), '
                             f'got {feat_size!r}')
        for value in feat_size:
            check_positive_int('feat_size', value)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.num_heads = num_heads
        self.head_channels = out_channels // num_heads
        self.feat_size = tuple(feat_size)

        self.qkv = nn.Conv2d(in_channels, 3 * out_channels, 1, bias=False)
        self.pos_embed = RelativePositionTables(
            2 * feat_size[0] - 1, 2 * feat_size[1] - 1, self.head_channels)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.init_weights()

    def init_weights(self):
        """Offset tables ~ N(0, 1/d), zero bias; ``qkv`` keeps PyTorch's
        init or the backbone's (mmengine calls this after ``init_cfg``)."""
        self.pos_embed.reset_parameters()
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def attend(self, x):
        """The attention output before the stride, (N, C_out, H, W).

        The position logits ride along with the content logits: for the
        query p = (y, x) the vector [q_p, (q_p . r_h[j - y])_j,
        (q_p . r_w[i - x])_i] (d + H + W wide) against the key vector
        [k_p', onehot_H(y'), onehot_W(x')] gives q_p . k_p' + q_p . r_h[y' -
        y] + q_p . r_w[x' - x] as one dot product, so the attention is
        :func:`~mmattn.ops.dot_product_attention`'s, which never holds the
        (HW, HW) logits whole on CPU (its chunked path), instead of
        materialising them with the position logits beside them.
        """
        n, _, h, w = x.shape
        heads, d = self.num_heads, self.head_channels
        f_h, f_w = self.feat_size
        qkv = self.qkv(x)
        with torch.autocast(device_type=x.device.type, enabled=False):
            # (N, heads, H, W, d) each; q scaled once, as in the gist
            q, k, v = (t.float().unflatten(1, (heads, d)).permute(
                0, 1, 3, 4, 2) for t in qkv.chunk(3, dim=1))
            q = q * d**-0.5
            row_logits, col_logits = relative_position_terms(
                q, self.pos_embed.height_rel.float(),
                self.pos_embed.width_rel.float(),
                relative_index(h, h, f_h - 1, x.device),
                relative_index(w, w, f_w - 1, x.device))
            rows = torch.eye(h, device=x.device)[:, None, :].expand(h, w, h)
            cols = torch.eye(w, device=x.device)[None, :, :].expand(h, w, w)
            query = torch.cat([q, row_logits, col_logits], dim=-1)
            key = torch.cat([k, rows.expand(n, heads, h, w, h),
                             cols.expand(n, heads, h, w, w)], dim=-1)
            out = dot_product_attention(query.flatten(2, 3),
                                        key.flatten(2, 3), v.flatten(2, 3),
                                        scale=1.0)
        # (N, heads, HW, d) -> (N, heads * d, H, W)
        return out.transpose(2, 3).reshape(n, heads * d, h, w).to(x.dtype)

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        if x.size(2) > self.feat_size[0] or x.size(3) > self.feat_size[1]:
            raise ValueError(
                f'x has a {x.size(2)} x {x.size(3)} map, larger than '
                f'feat_size {self.feat_size} (the relative position tables '
                f'cover offsets up to feat_size - 1): build the layer with '
                f'feat_size >= the largest map it meets')
        return stride_and_bias(self.attend(x), self.stride, self.bias)
