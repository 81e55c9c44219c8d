"""Squeeze-and-Excitation (SE).

Paper: "Squeeze-and-Excitation Networks", J. Hu, L. Shen, G. Sun, CVPR 2018
(arXiv:1709.01507).
"""
import torch.nn as nn
from mmcv.cnn import build_activation_layer

from ..checks import check_input
from ..ops import global_avg_pool
from .layers import ChannelMLP, reduced_channels, rename_state_keys


class SqueezeExcitation(nn.Module):
    """Squeeze-and-Excitation channel gate; keeps the input shape.

    s = GAP(x) (N, C, 1, 1); a = gate(fc2(act(fc1(s)))); out = x * a, where
    fc1 (C -> C_r) and fc2 (C_r -> C) are 1x1 convs with bias (fully connected
    layers on the pooled vector).

    Hidden width ``C_r = max(min_channels, in_channels // reduction)``, the
    paper's rule (4 for C=64, r=16), also torchvision's and mmdet/mmseg
    ``SELayer``'s. timm's ``SEModule`` and mmpretrain's ``SELayer`` round it
    to a multiple of 8 instead (8 for C=64), so their checkpoints do not load
    into this block with the default arguments: give the ``reduction`` that
    yields their width (``reduction=8`` for timm's C=64) and convert the keys
    with :meth:`convert_timm_state_dict`.

    Args:
        in_channels (int): channels C of the input.
        reduction (int): reduction ratio r, 1 <= r <= C. Defaults to 16.
        min_channels (int): lower bound of the hidden width. Defaults to 1.
        act_cfg (dict): activation after fc1 (mmcv config). Defaults to ReLU.
        gate_cfg (dict): activation making the gate (mmcv config). Defaults
            to Sigmoid; ``dict(type='HSigmoid')`` gives MobileNetV3's SE.

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1.

    Init: PyTorch's default for the two convs (a backbone's own
    ``init_cfg``, e.g. mmseg ResNet's Kaiming for ``Conv2d``, overrides it);
    the paper prescribes none.

    State-dict keys: ``mlp.fc1.*``, ``mlp.fc2.*``.
    """

    picture = 'channel_gate'  # how mmattn.visualization draws it

    role = 'plugin'  # see mmattn.blocks.catalog
    label = 'SE'

    _abbr_ = 'se'

    def __init__(self,
                 in_channels,
                 reduction=16,
                 min_channels=1,
                 act_cfg=dict(type='ReLU'),
                 gate_cfg=dict(type='Sigmoid')):
        super().__init__()
        self.in_channels = in_channels
        self.reduction = reduction
        self.hidden_channels = reduced_channels(in_channels, reduction,
                                                min_channels)
        self.mlp = ChannelMLP(in_channels, self.hidden_channels, act_cfg)
        self.gate = build_activation_layer(gate_cfg)

    @staticmethod
    def convert_timm_state_dict(state_dict):
        """timm ``SEModule`` state (``fc1.*``, ``fc2.*``) -> this block's;
        the formula is the same (timm's optional ``bn`` is not supported)."""
        return rename_state_keys(state_dict, {'fc1.': 'mlp.fc1.',
                                              'fc2.': 'mlp.fc2.'},
                                 "timm's SEModule")

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        return x * self.gate(self.mlp(global_avg_pool(x)))
