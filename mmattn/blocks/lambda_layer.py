"""Lambda layer (LambdaNetworks) as a conv layer.

Paper: "LambdaNetworks: Modeling Long-Range Interactions Without
Attention", I. Bello, ICLR 2021 (arXiv:2102.08602). Reference: the paper's
code listings (Fig. 3, Appendix B.1); timm's ``LambdaLayer`` is a PyTorch
port, whose state dict this layer shares.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer

from ..checks import (check_bool, check_input, check_odd_kernel,
                      check_positive_int)
from .layers import check_attention_conv_arguments, stride_and_bias


class LambdaLayerConv(nn.Module):
    """Multi-query lambda layer with a lambda convolution for the position
    lambdas, a drop-in for a 3x3 conv.

    One bias-free 1x1 conv (``qkv``) gives, in this order, queries
    (``num_heads`` x k channels, k = ``key_channels``), keys (k) and values
    (v = C_out / heads); queries and values are batch-normalised. With the
    keys softmax-normalised over the H W positions, per sample::

        content lambda   L_c      = softmax(K)^T V                 (k x v)
        position lambda  L_p(n)   = sum_{m in r x r around n} E(m - n) V_m
                                    (+ b)                          (k x v)
        output           y_n^h    = q_n^h (L_c + L_p(n))           (v)

    E the learned k x (r x r) embeddings of relative positions (the "lambda
    convolution", a 3D convolution over (H, W, v) with an r x r x 1
    kernel, zero-padded: contexts outside the image contribute nothing),
    shared by the heads (multi-query, intra-depth u = 1); heads
    concatenated, head-major. The sums run in float32 with autocast off.
    With ``stride`` s > 1 an s x s average pool follows (the paper's), with
    ``ceil_mode``: ceil(H / s).

    The paper's listing computes the position lambdas with a bias-free 3D
    convolution (``position_bias=False``, the default); timm's adds a bias
    b per key channel (``position_bias=True`` loads its state). The
    global-context variant with relative embeddings of a fixed map size
    (timm's ``r=None``) is not provided: dense prediction meets many sizes.

    As a conv layer: registered as ``mmattn.LambdaLayerConv``,
    ``dcn=dict(type='mmattn.LambdaLayerConv')`` with ``stage_with_dcn=`` in
    mmseg/mmdet's ResNet replaces the 3x3 conv2 of those stages (the
    LambdaResNets replace those of c4 and c5, or more). ``kernel_size`` must
    be odd and has no effect (``context_size`` sets the extent);
    ``padding`` must be None or the size-keeping one; ``dilation`` is
    accepted and has no effect; ``groups`` must be 1.

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
        num_heads (int): query heads |h|. Defaults to 4 (the paper's).
        key_channels (int): |k|. Defaults to 16 (the paper's).
        context_size (int): odd r of the lambda convolution. Defaults to 23
            (the paper's LambdaResNets).
        position_bias (bool): see above. Defaults to False.
        norm_cfg (dict, optional): norm of the queries and values (mmcv
            config). Defaults to BN. None: none.

    Shapes:
        input (N, C_in, H, W) -> output (N, C_out, ceil(H / s),
        ceil(W / s)); any H, W >= 1.

    Init: PyTorch's default for ``qkv`` (a backbone's ``init_cfg``
    overrides it); the embeddings normal with std k^-1/2, a zero position
    bias.

    State-dict keys: ``qkv.weight``, ``norm_q.*``, ``norm_v.*``,
    ``conv_lambda.weight`` (k, 1, r, r, 1), ``conv_lambda.bias``, ``bias``:
    timm's ``LambdaLayer`` (with ``r`` set) loads as it is.
    """

    role = 'conv'  # see mmattn.blocks.catalog
    label = 'lambda'
    small_cfg = dict(context_size=5, key_channels=4)

    _abbr_ = 'lambda_layer'

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
                 key_channels=16,
                 context_size=23,
                 position_bias=False,
                 norm_cfg=dict(type='BN')):
        super().__init__()
        out_channels = check_attention_conv_arguments(
            in_channels, out_channels, kernel_size, stride, padding,
            dilation, groups, bias, num_heads)
        check_positive_int('key_channels', key_channels)
        check_odd_kernel('context_size', context_size)
        check_bool('position_bias', position_bias)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.num_heads = num_heads
        self.key_channels = key_channels
        self.value_channels = out_channels // num_heads
        self.context_size = context_size

        k, v = key_channels, self.value_channels
        self.qkv = nn.Conv2d(in_channels, num_heads * k + k + v, 1,
                             bias=False)
        if norm_cfg is None:
            self.norm_q, self.norm_v = nn.Identity(), nn.Identity()
        else:
            self.norm_q = build_norm_layer(norm_cfg, num_heads * k)[1]
            self.norm_v = build_norm_layer(norm_cfg, v)[1]
        self.conv_lambda = nn.Conv3d(
            1, k, (context_size, context_size, 1),
            padding=(context_size // 2, context_size // 2, 0),
            bias=position_bias)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.init_weights()

    def init_weights(self):
        """Embeddings ~ N(0, 1/k), zero biases; ``qkv`` keeps PyTorch's init
        or the backbone's (mmengine calls this after ``init_cfg``)."""
        nn.init.normal_(self.conv_lambda.weight, std=self.key_channels**-0.5)
        for bias in (self.conv_lambda.bias, self.bias):
            if bias is not None:
                nn.init.zeros_(bias)

    def lambdas(self, x):
        """The output before the stride, (N, C_out, H, W)."""
        n, _, h, w = x.shape
        heads, k, v = self.num_heads, self.key_channels, self.value_channels
        queries, keys, values = self.qkv(x).split([heads * k, k, v], dim=1)
        queries, values = self.norm_q(queries), self.norm_v(values)
        with torch.autocast(device_type=x.device.type, enabled=False):
            queries = queries.float().view(n, heads, k, h, w)
            keys = keys.float().flatten(2).softmax(dim=-1)  # (N, k, HW)
            values = values.float()
            content = torch.einsum('nkm,nvm->nkv', keys, values.flatten(2))
            # the lambda convolution over (H, W, v): (N, k, H, W, v)
            conv = self.conv_lambda
            position = F.conv3d(
                values.permute(0, 2, 3, 1).unsqueeze(1), conv.weight.float(),
                None if conv.bias is None else conv.bias.float(),
                padding=conv.padding)
            out = (torch.einsum('nhkyx,nkv->nhvyx', queries, content)
                   + torch.einsum('nhkyx,nkyxv->nhvyx', queries, position))
        return out.reshape(n, heads * v, h, w).to(x.dtype)

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        return stride_and_bias(self.lambdas(x), self.stride, self.bias)
