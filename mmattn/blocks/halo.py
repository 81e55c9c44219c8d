"""Halo attention (HaloNet's blocked local self-attention) as a conv layer.

Paper: "Scaling Local Self-Attention for Parameter Efficient Visual
Backbones", A. Vaswani, P. Ramachandran, A. Srinivas, N. Parmar,
B. Hechtman, J. Shlens, CVPR 2021 (arXiv:2103.12731). No official code;
timm's ``HaloAttn`` is the common PyTorch port, whose state dict this layer
shares.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..checks import (check_bool, check_input, check_non_negative_int,
                      check_positive_int)
from ..ops import relative_index, relative_position_logits
from .layers import (RelativePositionTables, check_attention_conv_arguments,
                     pad_bottom_right, stride_and_bias)


class HaloAttentionConv(nn.Module):
    """Blocked local multi-head self-attention with a halo, a drop-in for a
    3x3 conv.

    The map is cut into b x b query blocks (``block_size``); every query of
    a block attends to the keys of the block grown by h pixels on each side
    (``halo_size``), a w x w window, w = b + 2h. q = 1x1 conv C_in -> C_out
    (``q``), k and v = 1x1 conv C_in -> 2 C_out (``kv``, per head d keys then
    d values), no biases; ``num_heads`` heads of d = C_out / heads. For the
    query at block position (i, j) and the window key at (i', j'), per
    head::

        logit = d^-1/2 (q . k + q . r_h[i' - i] + q . r_w[j' - j])
        out   = sum over the window of softmax(logit) v

    r_h, r_w learned tables of 2w - 1 vectors (the offsets a window has).
    The 1/sqrt(d) scales the position logits as well, as BoTNet's authors'
    code does (timm's ``HaloAttn`` default leaves them unscaled; it equals
    this layer with ``scale_pos_embed=True``). Logits, softmax and the
    weighted sum run in float32 with autocast off.

    Border and size handling (the paper needs H and W to be multiples of b):
    the map is zero-padded at the bottom and right to multiples of b and by
    h all round; with ``mask_padding`` (default) keys outside the image are
    left out of the softmax, as SASA's are (a zero key still has the weight
    exp(q . r)); ``mask_padding=False`` keeps them as zero keys and values,
    as timm does. Outputs of padded queries are cropped.

    With ``stride`` s > 1 an s x s average pool follows, with ``ceil_mode``:
    ceil(H / s). (timm's default strides the query blocks instead; its
    ``avg_down=True`` is this.)

    As a conv layer: registered as ``mmattn.HaloAttentionConv``,
    ``dcn=dict(type='mmattn.HaloAttentionConv')`` with ``stage_with_dcn=``
    in mmseg/mmdet's ResNet replaces the 3x3 conv2 of those stages.
    ``kernel_size`` must be odd and has no effect (``block_size`` and
    ``halo_size`` set the extent); ``padding`` must be None or the
    size-keeping one; ``dilation`` (mmseg's D8 stages) is accepted and has
    no effect; ``groups`` must be 1.

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
        num_heads (int): heads. Defaults to 8 (the paper's).
        block_size (int): b. Defaults to 8 (the paper's).
        halo_size (int): h, >= 0. Defaults to 3 (the paper's).
        mask_padding (bool): see above. Defaults to True.

    Shapes:
        input (N, C_in, H, W) -> output (N, C_out, ceil(H / s),
        ceil(W / s)); any H, W >= 1.

    Init: PyTorch's default for ``q`` and ``kv`` (a backbone's
    ``init_cfg`` overrides it); the tables normal with std d^-1/2.

    State-dict keys: ``q.weight``, ``kv.weight``, ``pos_embed.height_rel``,
    ``pos_embed.width_rel`` (2w - 1, d), ``bias``: timm's ``HaloAttn`` state
    loads as it is (its qk width must be C_out, as when C_out is a multiple
    of 8).
    """

    role = 'conv'  # see mmattn.blocks.catalog
    label = 'halo'
    small_cfg = dict(block_size=4, halo_size=1)

    _abbr_ = 'halo'

    def __init__(self,
                 in_channels,
                 out_channels=None,
                 kernel_size=3,
                 stride=1,
                 padding=None,
                 dilation=1,
                 groups=1,
                 bias=False,
                 num_heads=8,
                 block_size=8,
                 halo_size=3,
                 mask_padding=True):
        super().__init__()
        out_channels = check_attention_conv_arguments(
            in_channels, out_channels, kernel_size, stride, padding,
            dilation, groups, bias, num_heads)
        check_positive_int('block_size', block_size)
        check_non_negative_int('halo_size', halo_size)
        check_bool('mask_padding', mask_padding)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.num_heads = num_heads
        self.head_channels = out_channels // num_heads
        self.block_size = block_size
        self.halo_size = halo_size
        self.window_size = block_size + 2 * halo_size
        self.mask_padding = mask_padding

        self.q = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.kv = nn.Conv2d(in_channels, 2 * out_channels, 1, bias=False)
        self.pos_embed = RelativePositionTables(
            2 * self.window_size - 1, 2 * self.window_size - 1,
            self.head_channels)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.init_weights()

    def init_weights(self):
        """Tables ~ N(0, 1/d), zero bias; ``q`` and ``kv`` keep PyTorch's
        init or the backbone's (mmengine calls this after ``init_cfg``)."""
        self.pos_embed.reset_parameters()
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def _window_rows(self, num_blocks, device):
        """(blocks, w): the rows of the halo-padded map each block's window
        reads along one axis."""
        starts = torch.arange(num_blocks, device=device) * self.block_size
        return starts[:, None] + torch.arange(self.window_size,
                                              device=device)[None]

    def attend(self, x):
        """The attention output before the stride, (N, C_out, H, W)."""
        n, _, h, w = x.shape
        heads, d = self.num_heads, self.head_channels
        b, halo, win = self.block_size, self.halo_size, self.window_size
        # (h + b - 1) // b, not -(-h // b): the ONNX export divides ints
        # by truncation, which differs from floor for negatives
        blocks_h, blocks_w = (h + b - 1) // b, (w + b - 1) // b
        pad_h, pad_w = blocks_h * b - h, blocks_w * b - w
        q, kv = self.q(x), self.kv(x)
        with torch.autocast(device_type=x.device.type, enabled=False):
            # (N, heads, blocks_h, blocks_w, b, b, d), scaled once
            q = pad_bottom_right(q.float(), pad_h, pad_w) * d**-0.5
            q = q.view(n, heads, d, blocks_h, b, blocks_w, b).permute(
                0, 1, 3, 5, 4, 6, 2)
            # each block's window: (N, heads, 2, d, blocks_h, w, blocks_w, w)
            kv = F.pad(pad_bottom_right(kv.float(), pad_h, pad_w),
                       (halo, ) * 4)
            rows = self._window_rows(blocks_h, x.device)
            cols = self._window_rows(blocks_w, x.device)
            kv = kv[:, :, rows][:, :, :, :, cols]
            kv = kv.view(n, heads, 2, d, blocks_h, win, blocks_w, win)
            k, v = kv[:, :, 0], kv[:, :, 1]
            logits = torch.einsum('nhabijd,nhdaybz->nhabijyz', q, k)
            # the same offsets along both axes: one (b, w) index serves both
            index = relative_index(b, win, win - 1, x.device)
            logits = logits + relative_position_logits(
                q, self.pos_embed.height_rel.float(),
                self.pos_embed.width_rel.float(), index, index)
            if self.mask_padding:
                # a window row r of the halo-padded map is image row r - halo
                rows_in = (rows >= halo) & (rows < h + halo)
                cols_in = (cols >= halo) & (cols < w + halo)
                inside = (rows_in[:, None, None, None, :, None]
                          & cols_in[None, :, None, None, None, :])
                logits = logits.masked_fill(~inside, float('-inf'))
            weights = logits.flatten(-2).softmax(dim=-1).view_as(logits)
            out = torch.einsum('nhabijyz,nhdaybz->nhdaibj', weights, v)
            out = out.reshape(n, heads * d, blocks_h * b, blocks_w * b)
        return out[:, :, :h, :w].to(x.dtype)

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        return stride_and_bias(self.attend(x), self.stride, self.bias)
