"""Stand-alone self-attention (SASA): local self-attention as a conv layer.

Paper: "Stand-Alone Self-Attention in Vision Models", P. Ramachandran,
N. Parmar, A. Vaswani, I. Bello, A. Levskaya, J. Shlens, NeurIPS 2019
(arXiv:1906.05909). No official code; the popular PyTorch reference
computes a per-channel softmax(q * (k + r)) instead of the paper's dot
product and is not followed.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..checks import check_input, check_odd_kernel
from .layers import check_attention_conv_arguments, stride_and_bias


class StandAloneSelfAttentionConv(nn.Module):
    """SASA layer: multi-head attention over a local k x k window, a drop-in
    for a 3x3 conv.

    q, k, v = bias-free 1x1 convs C_in -> C_out, split into ``num_heads``
    heads of d = C_out / heads channels. For the query at (i, j) and head h,
    over the window offsets (a, b) in [-(k-1)/2, (k-1)/2]^2 (spaced
    ``dilation`` pixels apart)::

        logit_ab = q_ij . k_(i+a, j+b) + q_ij . r_ab
        r_ab     = [row_embedding[a] (d/2); column_embedding[b] (d/2)]
        y_ij     = sum_ab softmax_ab(logit) * v_(i+a, j+b)

    dot products over the head's d channels, the relative embeddings shared
    by the heads. Keys outside the map are masked out of the softmax (not
    zero-padded into it, which would still give them the weight
    exp(q . r_ab)). Logits, softmax and the weighted sum are float32 with
    autocast off. With ``stride`` s > 1 a s x s average pool with stride s
    follows (the paper's down-sampling), with ``ceil_mode`` so the output is
    ceil(H / s), the size of the strided 3x3 conv it replaces (odd sizes
    included).

    As a conv layer: registered as ``mmattn.StandAloneSelfAttentionConv``,
    it is built by ``build_conv_layer``, e.g. by mmseg/mmdet ResNet's
    ``dcn=dict(type='mmattn.StandAloneSelfAttentionConv')`` with
    ``stage_with_dcn=...``, which replaces the 3x3 conv2 of the chosen
    stages' bottlenecks with ``(planes, planes, kernel_size=3, stride=s,
    padding=dilation, dilation=dilation, bias=False)``. The meaning of the
    conv arguments here:

    - ``kernel_size``: the size of the conv being replaced. It must be odd,
      and it does not set the window: ``window_size`` does (the paper's 7;
      ``window_size=None`` uses ``kernel_size``).
    - ``padding``: must be None or ``dilation * (kernel_size - 1) // 2``,
      the "same" padding of the replaced conv: the layer always keeps H x W
      before the stride.
    - ``dilation``: spacing of the window's keys, as in a dilated conv (a
      7x7 window with dilation 2 spans 13 x 13 pixels), so the layer fits
      the dilated stages of mmseg's ResNetV1c-D8.
    - ``groups``: must be 1 (the heads are this layer's grouping).
    - ``bias``: adds a learned per-channel bias to the output (False in
      ResNet, and in the paper).

    Args:
        in_channels (int): C_in.
        out_channels (int, optional): C_out, divisible by ``num_heads`` with
            an even head width. None (default) keeps C_in, so the layer also
            works as a shape-preserving plugin.
        kernel_size (int): see above. Defaults to 7.
        stride (int): 1 or more; see above. Defaults to 1.
        padding (int, optional): see above. Defaults to None.
        dilation (int): see above. Defaults to 1.
        groups (int): must be 1. Defaults to 1.
        bias (bool): output bias. Defaults to False.
        num_heads (int): heads. Defaults to 8.
        window_size (int, optional): odd window size k. Defaults to 7.

    Shapes:
        input (N, C_in, H, W) -> output (N, C_out, ceil(H / s),
        ceil(W / s)); any H, W >= 1.

    Init: PyTorch's default for the 1x1 convs (a backbone's ``init_cfg``
    overrides it); the embeddings are normal with std d^-1/2. The layer
    replaces a pretrained conv and cannot start as it; the paper trains
    SASA networks from scratch.

    State-dict keys: ``query.weight``, ``key.weight``, ``value.weight``,
    ``row_embedding`` (k, d/2), ``column_embedding`` (k, d/2), ``bias``.
    """

    role = 'conv'  # see mmattn.blocks.catalog
    label = 'SASA conv'

    _abbr_ = 'sasa'

    def __init__(self,
                 in_channels,
                 out_channels=None,
                 kernel_size=7,
                 stride=1,
                 padding=None,
                 dilation=1,
                 groups=1,
                 bias=False,
                 num_heads=8,
                 window_size=7):
        super().__init__()
        out_channels = check_attention_conv_arguments(
            in_channels, out_channels, kernel_size, stride, padding,
            dilation, groups, bias, num_heads, even_heads=True)
        check_odd_kernel('window_size', window_size, allow_none=True)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.dilation = dilation
        self.num_heads = num_heads
        self.window_size = kernel_size if window_size is None else window_size
        self.head_channels = out_channels // num_heads

        self.query = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.key = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.value = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        half = self.head_channels // 2
        self.row_embedding = nn.Parameter(torch.empty(self.window_size, half))
        self.column_embedding = nn.Parameter(
            torch.empty(self.window_size, half))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.init_weights()

    def init_weights(self):
        """Relative embeddings ~ N(0, 1/d) and a zero bias. The query, key
        and value convs keep PyTorch's init, or whatever a backbone's
        ``init_cfg`` gives convs (mmengine calls this after it)."""
        std = self.head_channels**-0.5
        nn.init.normal_(self.row_embedding, std=std)
        nn.init.normal_(self.column_embedding, std=std)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def _windows(self, padded, h, w):
        """The k * k shifted (.., h, w) views of a padded map, row-major
        over the window offsets."""
        d = self.dilation
        return [
            padded[..., a * d:a * d + h, b * d:b * d + w]
            for a in range(self.window_size) for b in range(self.window_size)
        ]

    def attend(self, x):
        """The attention output before the stride, (N, C_out, H, W)."""
        h, w = x.shape[2:]
        heads, dh, k = self.num_heads, self.head_channels, self.window_size
        pad = self.dilation * (k // 2)
        q, key, value = (conv(x) for conv in (self.query, self.key,
                                              self.value))
        with torch.autocast(device_type=x.device.type, enabled=False):
            q = q.float().unflatten(1, (heads, dh))
            key = F.pad(key.float(), (pad, ) * 4).unflatten(1, (heads, dh))
            value = F.pad(value.float(), (pad, ) * 4).unflatten(
                1, (heads, dh))
            # the same shifts of a padded map of ones mark the keys inside
            inside = F.pad(torch.ones_like(x[:1, :1], dtype=torch.float32),
                           (pad, ) * 4)
            # q . r_ab = q_row . row_embedding[a] + q_col . column_emb[b]
            q_row, q_col = q.split(dh // 2, dim=2)
            row_logits = torch.einsum('nhcij,ac->nhaij', q_row,
                                      self.row_embedding.float())
            col_logits = torch.einsum('nhcij,bc->nhbij', q_col,
                                      self.column_embedding.float())
            position_logits = (row_logits.unsqueeze(3)
                               + col_logits.unsqueeze(2)).flatten(2, 3)
            content_logits = torch.stack(
                [(q * shifted).sum(dim=2)
                 for shifted in self._windows(key, h, w)], dim=2)
            valid = torch.stack(self._windows(inside, h, w), dim=2) > 0.5
            logits = (content_logits + position_logits).masked_fill(
                ~valid, float('-inf'))
            weights = torch.softmax(logits, dim=2)  # (N, heads, k*k, H, W)
            out = sum(weights[:, :, i].unsqueeze(2) * shifted
                      for i, shifted in enumerate(self._windows(value, h, w)))
        return out.flatten(1, 2).to(x.dtype)

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        return stride_and_bias(self.attend(x), self.stride, self.bias)
