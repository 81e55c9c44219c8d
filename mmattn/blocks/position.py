"""DANet position attention module (PAM).

Paper: "Dual Attention Network for Scene Segmentation", J. Fu, J. Liu,
H. Tian, Y. Li, Y. Bao, Z. Fang, H. Lu, CVPR 2019 (arXiv:1809.02983).
Reference code: junfu1115/DANet; mmseg ``mmseg.models.decode_heads.da_head``.

Every position attends to every other position; the attention is computed by
:func:`mmattn.ops.dot_product_attention`, which never holds the P x P
attention map on CPU when the key and value widths differ (they do here), so
memory grows with P, not P^2.
"""
import torch.nn as nn
from mmcv.cnn import ConvModule, Scale

from ..ops import dot_product_attention
from ..ops.attention import IMPLEMENTATIONS
from ..checks import check_choice, check_input, check_positive_int


class PositionAttention(nn.Module):
    """DANet position attention; keeps the input shape.

    For x of shape (N, C, H, W) with P = H*W positions: q = query_project(x),
    k = key_project(x) (1x1 convs with bias, C -> C_k), v = value_project(x)
    (1x1 conv with bias, C -> C). E = q^T k (P x P, unscaled, as the paper and
    mmseg); A = softmax(E) over the keys; out = gamma * (v A^T) + x, where
    gamma is a learnable scalar that starts at 0, so the block starts as the
    identity.

    A drop-in for mmseg 1.2.2's ``PAM`` (``mmseg.models.decode_heads.da_head``
    ): same arguments, and its state dict (``query_project``, ``key_project``,
    ``value_project``, ``gamma.scale``) loads with ``strict=True``.

    Args:
        in_channels (int): channels C of the input.
        channels (int, optional): key/query width C_k. Defaults to
            ``max(1, in_channels // 8)`` (the paper's C/8; mmseg's DAHead
            passes ``pam_channels=64`` for C = 512).
        impl (str): back end of :func:`mmattn.ops.dot_product_attention`
            (``'auto'``, ``'sdpa'``, ``'chunked'``, ``'reference'``); all
            compute the same function. Defaults to ``'auto'``.

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1.

    Precision: the attention logits and softmax are computed in float32 with
    autocast off by the op, so fp16/bf16 autocast does not overflow.
    """

    picture = 'position'  # how mmattn.visualization draws it

    role = 'plugin'  # see mmattn.blocks.catalog
    identity_init = {}  # starts as the identity: see catalog
    label = 'PAM'

    _abbr_ = 'pam'

    def __init__(self, in_channels, channels=None, impl='auto'):
        super().__init__()
        check_positive_int('in_channels', in_channels)
        check_positive_int('channels', channels, allow_none=True)
        self.in_channels = in_channels
        self.channels = channels or max(1, in_channels // 8)
        check_choice('impl', impl, IMPLEMENTATIONS)
        self.impl = impl
        self.key_project = nn.Conv2d(in_channels, self.channels, 1)
        self.query_project = nn.Conv2d(in_channels, self.channels, 1)
        self.value_project = nn.Conv2d(in_channels, in_channels, 1)
        self.gamma = Scale(0.)

    # mmseg's PAM is its SelfAttentionBlock with these settings fixed; they
    # are public under its names for code written against PAM
    share_key_query = False
    matmul_norm = False
    conv_cfg = norm_cfg = act_cfg = None
    key_downsample = query_downsample = out_project = None

    @property
    def key_in_channels(self):
        return self.in_channels

    @property
    def query_in_channels(self):
        return self.in_channels

    @property
    def out_channels(self):
        return self.in_channels

    def init_weights(self):
        """Nothing beyond torch's defaults: mmseg's SelfAttentionBlock
        zero-initialises an output projection, which PAM has not."""

    @staticmethod
    def build_project(in_channels, channels, num_convs, use_conv_module,
                      conv_cfg, norm_cfg, act_cfg):
        """mmseg's projection builder: ``num_convs`` 1x1 convs
        ``in_channels -> channels -> ... -> channels`` (ConvModules with the
        given configs where ``use_conv_module``), one module or a
        Sequential."""
        widths = [in_channels] + [channels] * num_convs
        if use_conv_module:
            convs = [ConvModule(a, b, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                act_cfg=act_cfg)
                     for a, b in zip(widths, widths[1:])]
        else:
            convs = [nn.Conv2d(a, b, 1) for a, b in zip(widths, widths[1:])]
        return convs[0] if len(convs) == 1 else nn.Sequential(*convs)

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        n, c, h, w = x.shape
        # tokens are positions: (N, P, width)
        query = self.query_project(x).flatten(2).transpose(1, 2)
        key = self.key_project(x).flatten(2).transpose(1, 2)
        value = self.value_project(x).flatten(2).transpose(1, 2)
        context = dot_product_attention(
            query, key, value, scale=1.0, impl=self.impl)
        context = context.transpose(1, 2).reshape(n, c, h, w)
        return x + self.gamma(context)  # x first: the output keeps its layout
