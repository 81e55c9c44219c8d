"""External attention: attention to a small learned memory.

Paper: "Beyond Self-attention: External Attention using Two Linear Layers
for Visual Tasks", M.-H. Guo, Z.-N. Liu, T.-J. Mu, S.-M. Hu, TPAMI 2022
(arXiv:2105.02358). Reference: the authors' segmentation code
(MenghaoGuo/EANet, ``External_attention``).
"""
import math

import torch.nn as nn
from mmcv.cnn import build_norm_layer

from ..checks import check_bool, check_input, check_positive_int
from .layers import zero_last_layer


class ExternalAttention(nn.Module):
    """External attention block (EANet); keeps the input shape.

    y = conv1(x), a 1x1 conv C -> C with bias; A = M_k y (S, P), M_k a
    learned memory of S units (a bias-free 1x1 conv C -> S); double
    normalisation: A = softmax of each unit over the P positions, then each
    position's S weights divided by their sum (+ 1e-9); z = M_v A (C, P),
    M_v a bias-free 1x1 conv S -> C; out = ReLU(x + norm(conv2(z))), conv2
    a bias-free 1x1 conv C -> C. Linear in P: the memories are shared by
    every image, so no (P, P) map exists.

    conv1's bias shifts all P logits of a memory unit equally, which the
    softmax over positions ignores: it always gets a zero gradient. It is
    kept, as in the authors' module, so that their checkpoints load.

    As the authors' code: M_v starts as the transpose of M_k, every 1x1
    conv from N(0, sqrt(2 / (k * k * out_channels))), the norm's weight 1
    and bias 0.

    Args:
        in_channels (int): channels C of the input.
        memory_units (int): S, the units of the memories. Defaults to 64
            (the authors').
        norm_cfg (dict): norm after conv2. Defaults to BN.
        relu (bool): the ReLU after the residual sum (the authors'). Turn
            it off where the block must be able to output negative values
            (after a conv3 whose output is added to a shortcut, it would
            cut the residual branch's sign). Defaults to True.
        zero_init (bool): zero conv2's norm, so that with ``relu=False``
            the block starts as the identity, for insertion into a
            pretrained network. Defaults to False (the authors' init).

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1.

    State-dict keys: ``conv1.*``, ``linear_0.weight`` (S, C, 1),
    ``linear_1.weight`` (C, S, 1), ``conv2.0.weight``, ``conv2.1.*`` (the
    authors' names and shapes, 1-D convs for the memories).
    """

    role = 'plugin'  # see mmattn.blocks.catalog
    identity_init = dict(zero_init=True)  # starts as the identity: see catalog
    label = 'EANet'
    # as a plugin after a Bottleneck's norm3 the output is still summed with
    # the shortcut: a ReLU here would cut the residual branch's sign
    plugin_cfg = dict(relu=False)
    small_cfg = dict(memory_units=16)

    _abbr_ = 'external_attention'

    def __init__(self, in_channels, memory_units=64,
                 norm_cfg=dict(type='BN'), relu=True, zero_init=False):
        super().__init__()
        check_bool('zero_init', zero_init)
        self.zero_init = zero_init
        check_positive_int('in_channels', in_channels)
        check_positive_int('memory_units', memory_units)
        check_bool('relu', relu)
        self.in_channels = in_channels
        self.memory_units = memory_units
        self.relu = relu
        self.conv1 = nn.Conv2d(in_channels, in_channels, 1)
        self.linear_0 = nn.Conv1d(in_channels, memory_units, 1, bias=False)
        self.linear_1 = nn.Conv1d(memory_units, in_channels, 1, bias=False)
        self.conv2 = nn.Sequential(
            nn.Conv2d(in_channels, in_channels, 1, bias=False),
            build_norm_layer(norm_cfg, in_channels)[1])
        self.init_weights()

    def init_weights(self):
        """The authors' init (re-applied after a backbone's init_cfg);
        with ``zero_init`` conv2 then outputs zeros."""
        for m in self.modules():
            if isinstance(m, (nn.Conv1d, nn.Conv2d)):
                fan_out = m.kernel_size[0] * m.out_channels
                if isinstance(m, nn.Conv2d):
                    fan_out *= m.kernel_size[1]
                nn.init.normal_(m.weight, 0, math.sqrt(2. / fan_out))
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.modules.batchnorm._NormBase):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        self.linear_1.weight.data.copy_(
            self.linear_0.weight.data.permute(1, 0, 2))
        if self.zero_init:
            zero_last_layer(self.conv2)

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        n, c, h, w = x.shape
        y = self.conv1(x).reshape(n, c, h * w)
        # The double normalisation runs in float32: in half precision the
        # softmax weights of a position underflow to 0 for every unit, and
        # 1e-9 is 0 there too, so 0 / 0 gave NaN.
        logits = self.linear_0(y)
        attention = logits.float().softmax(dim=2)  # (N, S, P)
        attention = attention / (1e-9 + attention.sum(dim=1, keepdim=True))
        z = self.linear_1(attention.to(logits.dtype)).reshape(n, c, h, w)
        out = x + self.conv2(z)
        return out.relu() if self.relu else out
