"""Concurrent spatial and channel squeeze-and-excitation (scSE).

Paper: "Concurrent Spatial and Channel 'Squeeze & Excitation' in Fully
Convolutional Networks", A. G. Roy, N. Navab, C. Wachinger, MICCAI 2018
(arXiv:1803.02579). Reference code: ai-med/squeeze_and_excitation;
segmentation_models_pytorch ``SCSEModule``.
"""
import torch
import torch.nn as nn

from ..checks import check_choice, check_input
from ..ops import global_avg_pool
from .layers import ChannelMLP, reduced_channels


class SpatialChannelSqueezeExcitation(nn.Module):
    """scSE: a channel gate and a spatial gate side by side; keeps the shape.

    cSE: a_c = sigmoid(fc2(relu(fc1(GAP(x))))) (N, C, 1, 1), fc1 (C -> C_r)
    and fc2 (C_r -> C) 1x1 convs with bias, as SE.
    sSE: a_s = sigmoid(conv1x1(x)) (N, 1, H, W), one C -> 1 conv with bias.
    Fusion of the two recalibrated maps:

    - ``'add'``: x * a_c + x * a_s (segmentation_models_pytorch, the paper's
      default).
    - ``'max'``: max(x * a_c, x * a_s) elementwise (the ai-med code's
      default, which uses r = 2).
    - ``'mul'``: x * a_c * a_s.

    Hidden width ``C_r = max(min_channels, in_channels // reduction)``, the
    same rule as :class:`SqueezeExcitation` (and smp's ``C // r``).

    Args:
        in_channels (int): channels C of the input.
        reduction (int): cSE reduction ratio r, 1 <= r <= C. Defaults to 16.
        fusion (str): ``'add'``, ``'max'`` or ``'mul'``. Defaults to
            ``'add'``. These two defaults follow segmentation_models_pytorch,
            not the authors' code (ai-med/squeeze_and_excitation fuses by
            ``'max'`` with ``reduction=2``): pass those to follow it.
        min_channels (int): lower bound of the hidden width. Defaults to 1.

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1.

    Init: PyTorch's default for the three convs (a backbone's ``init_cfg``
    overrides it); the paper prescribes none. With ``'add'`` the block does
    not start as the identity (both gates are about 0.5, so the output is
    about x): that is the paper's design.

    State-dict keys: ``mlp.fc1.*``, ``mlp.fc2.*``, ``spatial_conv.*``
    (smp's ``cSE.1``, ``cSE.3``, ``sSE.0``).
    """

    picture = 'spatial_gate'  # how mmattn.visualization draws it

    role = 'plugin'  # see mmattn.blocks.catalog
    label = 'scSE'

    _abbr_ = 'scse'
    FUSIONS = ('add', 'max', 'mul')

    def __init__(self, in_channels, reduction=16, fusion='add',
                 min_channels=1):
        super().__init__()
        check_choice('fusion', fusion, self.FUSIONS)
        self.in_channels = in_channels
        self.reduction = reduction
        self.fusion = fusion
        self.hidden_channels = reduced_channels(in_channels, reduction,
                                                min_channels)
        self.mlp = ChannelMLP(in_channels, self.hidden_channels,
                              dict(type='ReLU'))
        self.spatial_conv = nn.Conv2d(in_channels, 1, 1)

    def channel_gate(self, x):
        """Sigmoid channel weights (N, C, 1, 1) of x."""
        return self.mlp(global_avg_pool(x)).sigmoid()

    def spatial_gate(self, x):
        """Sigmoid spatial weights (N, 1, H, W) of x."""
        return self.spatial_conv(x).sigmoid()

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        a_c, a_s = self.channel_gate(x), self.spatial_gate(x)
        if self.fusion == 'mul':
            return x * (a_c * a_s)
        if self.fusion == 'add':
            return x * (a_c + a_s)  # = x * a_c + x * a_s, one product
        return torch.maximum(x * a_c, x * a_s)
