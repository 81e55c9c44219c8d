"""Efficient attention: global attention in linear complexity.

Paper: "Efficient Attention: Attention with Linear Complexities", Z. Shen,
M. Zhang, H. Zhao, S. Yi, H. Li, WACV 2021 (arXiv:1812.01243). Reference:
the authors' code (cmsflash/efficient-attention, ``EfficientAttention``).
"""
import torch.nn as nn

from ..checks import check_bool, check_input, check_positive_int


class EfficientAttention(nn.Module):
    """Efficient attention block; keeps the input shape.

    Q, K (N, d_k, P) and V (N, d_v, P) from 1x1 convs; per head h (d_k / H
    key and d_v / H value channels): rho_k(K) = softmax of each key channel
    over the P positions, rho_q(Q) = softmax of each position's query over
    the head's channels; G = rho_k(K) V^T (d_k/H, d_v/H), a handful of
    global context vectors; E = G^T rho_q(Q) (d_v/H, P). The heads'
    outputs are concatenated, projected back by a 1x1 conv d_v -> C and
    added to x: out = x + W_r E. Memory and time are O(P * d) where dot
    product attention's are O(P^2): the (P, P) map is never formed, which
    is the paper's point (its Eq. 3 equals the non-local block's attention
    with the two normalisations moved inside the product).

    Args:
        in_channels (int): channels C of the input.
        key_channels (int, optional): d_k. Defaults to C // 2.
        value_channels (int, optional): d_v. Defaults to C // 2.
        num_heads (int): H; divides d_k and d_v. Defaults to 1 (the
            paper's segmentation and detection models use 1 to 8).
        zero_init (bool): zero the reprojection, so that the block starts
            as the identity. Defaults to False (True as a backbone plugin).

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1.

    Init: PyTorch's default, as the authors' code (the block starts away
    from the identity; ``zero_init=True`` zeroes the reprojection so that
    it starts as one, for insertion into pretrained backbones).

    State-dict keys: ``keys.*``, ``queries.*``, ``values.*``,
    ``reprojection.*`` (the authors' names).
    """

    role = 'plugin'  # see mmattn.blocks.catalog
    identity_init = dict(zero_init=True)  # starts as the identity: see catalog
    label = 'EfficientAtt'
    # in a pretrained backbone, start as the identity
    plugin_cfg = dict(zero_init=True)
    small_cfg = dict(num_heads=2)

    _abbr_ = 'efficient_attention'

    def __init__(self, in_channels, key_channels=None, value_channels=None,
                 num_heads=1, zero_init=False):
        super().__init__()
        check_positive_int('in_channels', in_channels)
        check_positive_int('key_channels', key_channels, allow_none=True)
        check_positive_int('value_channels', value_channels,
                           allow_none=True)
        check_positive_int('num_heads', num_heads)
        check_bool('zero_init', zero_init)
        self.in_channels = in_channels
        self.key_channels = key_channels or max(1, in_channels // 2)
        self.value_channels = value_channels or max(1, in_channels // 2)
        for name, width, given in (
                ('key_channels', self.key_channels, key_channels),
                ('value_channels', self.value_channels, value_channels)):
            if width % num_heads:
                source = ('' if given else
                          f' (in_channels={in_channels} // 2, the default)')
                raise ValueError(f'num_heads={num_heads} must divide '
                                 f'{name}={width}{source}')
        self.num_heads = num_heads
        self.zero_init = zero_init
        self.keys = nn.Conv2d(in_channels, self.key_channels, 1)
        self.queries = nn.Conv2d(in_channels, self.key_channels, 1)
        self.values = nn.Conv2d(in_channels, self.value_channels, 1)
        self.reprojection = nn.Conv2d(self.value_channels, in_channels, 1)
        self.init_weights()

    def init_weights(self):
        # re-applied after a backbone's init_cfg (see GlobalContext)
        if self.zero_init:
            nn.init.zeros_(self.reprojection.weight)
            nn.init.zeros_(self.reprojection.bias)

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        n, _, h, w = x.shape
        heads = self.num_heads
        dk = self.key_channels // heads
        dv = self.value_channels // heads
        # (N, heads, width per head, P); explicit sizes: N may be 0
        keys = self.keys(x).reshape(n, heads, dk, h * w).softmax(dim=3)
        queries = self.queries(x).reshape(n, heads, dk, h * w).softmax(dim=2)
        values = self.values(x).reshape(n, heads, dv, h * w)
        context = keys @ values.transpose(2, 3)  # (N, heads, dk/H, dv/H)
        attended = context.transpose(2, 3) @ queries  # (N, heads, dv/H, P)
        attended = attended.reshape(n, self.value_channels, h, w)
        return x + self.reprojection(attended)
