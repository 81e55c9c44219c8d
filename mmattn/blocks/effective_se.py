"""Effective Squeeze-Excitation (eSE).

Paper: "CenterMask: Real-Time Anchor-Free Instance Segmentation", Y. Lee,
J. Park, CVPR 2020 (arXiv:1911.06667), section 3.3 (VoVNetV2). Reference:
the authors' VoVNet code (youngwanLEE/vovnet-detectron2, ``eSEModule``).
"""
import torch.nn as nn
from mmcv.cnn import build_activation_layer

from ..checks import check_input, check_positive_int
from ..ops import global_avg_pool


class EffectiveSqueezeExcitation(nn.Module):
    """Effective SE channel gate: SE with one full-width fc; keeps the
    input shape.

    s = GAP(x) (N, C, 1, 1); a = hsigmoid(fc(s)), fc a 1x1 conv C -> C with
    bias; out = x * a. The paper keeps SE's channel information that the
    C -> C/r reduction loses; hsigmoid(z) = relu6(z + 3) / 6 as in the
    authors' code.

    timm's ``EffectiveSEModule`` computes the same (its state-dict keys
    ``fc.weight``, ``fc.bias`` load as they are; its experimental
    ``add_maxpool`` is not offered).

    Args:
        in_channels (int): channels C of the input.
        gate_cfg (dict): activation making the gate (mmcv config). Defaults
            to ``dict(type='HSigmoid')`` (relu6(z + 3) / 6).

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1.

    Init: PyTorch's default for the conv (the paper prescribes none).

    State-dict keys: ``fc.weight`` (C, C, 1, 1), ``fc.bias`` (C,).
    """

    role = 'plugin'  # see mmattn.blocks.catalog
    label = 'eSE'

    _abbr_ = 'ese'

    def __init__(self, in_channels, gate_cfg=dict(type='HSigmoid')):
        super().__init__()
        check_positive_int('in_channels', in_channels)
        self.in_channels = in_channels
        self.fc = nn.Conv2d(in_channels, in_channels, 1)
        self.gate = build_activation_layer(gate_cfg)

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        return x * self.gate(self.fc(global_avg_pool(x)))
