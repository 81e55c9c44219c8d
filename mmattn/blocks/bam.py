"""Bottleneck Attention Module (BAM).

Paper: "BAM: Bottleneck Attention Module", J. Park, S. Woo, J.-Y. Lee,
I. S. Kweon, BMVC 2018 (arXiv:1807.06514). Reference code:
Jongchan/attention-module (``MODELS/bam.py``).
"""
import torch.nn as nn
from mmcv.cnn import ConvModule

from ..checks import check_choice, check_input, check_positive_int
from ..ops import global_avg_pool
from .layers import reduced_channels, refuse_single_sample_batch_norm


class BottleneckAttention(nn.Module):
    """BAM: a channel and a spatial branch on a residual; keeps the shape.

    Channel branch: Mc = fc2(ReLU(norm(fc1(GAP(x))))), fc1 C -> C // r,
    fc2 C // r -> C, (N, C, 1, 1). Spatial branch: 1x1 conv C -> C // r,
    norm, ReLU; ``num_dilated_convs`` x [3x3 conv with dilation
    ``dilation`` and padding ``dilation``, norm, ReLU]; 1x1 conv C // r -> 1
    (with bias), Ms (N, 1, H, W). M = sigmoid(Mc + Ms) (``combine='sum'``,
    the paper's Eq. 2) or sigmoid(Mc * Ms) (``'product'``, the authors'
    code), broadcast to (N, C, H, W); out = x * (1 + M) = x + x * M.

    Choices and deviations:

    - The fcs are 1x1 convs on the pooled (N, C, 1, 1) map; the paper's
      BatchNorm1d is a BatchNorm2d there (same keys, same statistics).
      Convs followed by a norm drop their bias (``ConvModule``); the
      authors' keep it, which their BN cancels.
    - That BN sees one value per channel and sample: a training batch of 1
      is refused with a ValueError naming ``norm_cfg`` (torch would fail
      with a less helpful message); use GN or ``norm_cfg=None`` for it.
    - It cannot start as the identity: M is in (0, 1), so the output starts
      near 1.5 x, as in the paper (which places BAM between stages, where
      the next BN absorbs the scale).

    Args:
        in_channels (int): channels C of the input.
        reduction (int): reduction ratio r of both branches, 1 <= r <= C.
            Defaults to 16.
        dilation (int): dilation (and padding) of the spatial 3x3 convs.
            Defaults to 4.
        num_dilated_convs (int): number of spatial 3x3 convs. Defaults
            to 2.
        combine (str): ``'sum'`` (paper) or ``'product'`` (code).
            Defaults to ``'sum'``.
        norm_cfg (dict, optional): norm of both branches (mmcv config).
            Defaults to BN.

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1.

    Init: ``ConvModule``'s (Kaiming, norm weight 1, bias 0) for the convs
    with a norm; PyTorch's default for the two final 1x1 convs.

    State-dict keys: ``channel_fc1.conv.*``, ``channel_fc1.bn.*``,
    ``channel_fc2.*``, ``spatial_convs.{i}.conv.*``,
    ``spatial_convs.{i}.bn.*``, ``spatial_out.*``.
    """

    picture = 'spatial_gate'  # how mmattn.visualization draws it

    role = 'plugin'  # see mmattn.blocks.catalog
    label = 'BAM'

    _abbr_ = 'bam'
    COMBINES = ('sum', 'product')

    def __init__(self,
                 in_channels,
                 reduction=16,
                 dilation=4,
                 num_dilated_convs=2,
                 combine='sum',
                 norm_cfg=dict(type='BN')):
        super().__init__()
        self.hidden_channels = reduced_channels(in_channels, reduction)
        check_positive_int('dilation', dilation)
        check_positive_int('num_dilated_convs', num_dilated_convs)
        check_choice('combine', combine, self.COMBINES)
        self.in_channels = in_channels
        self.reduction = reduction
        self.combine = combine
        hidden = self.hidden_channels
        relu = dict(type='ReLU')

        self.channel_fc1 = ConvModule(in_channels, hidden, 1,
                                      norm_cfg=norm_cfg, act_cfg=relu)
        self.channel_fc2 = nn.Conv2d(hidden, in_channels, 1)
        self.spatial_convs = nn.Sequential(
            ConvModule(in_channels, hidden, 1, norm_cfg=norm_cfg,
                       act_cfg=relu), *[
                ConvModule(hidden, hidden, 3, padding=dilation,
                           dilation=dilation, norm_cfg=norm_cfg,
                           act_cfg=relu)
                for _ in range(num_dilated_convs)
            ])
        self.spatial_out = nn.Conv2d(hidden, 1, 1)

    def channel_attention(self, x):
        """Mc, before the sigmoid: (N, C, 1, 1)."""
        return self.channel_fc2(self.channel_fc1(global_avg_pool(x)))

    def spatial_attention(self, x):
        """Ms, before the sigmoid: (N, 1, H, W)."""
        return self.spatial_out(self.spatial_convs(x))

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        if self.channel_fc1.with_norm:
            refuse_single_sample_batch_norm(self.channel_fc1.norm, x,
                                            'norm_cfg')
        mc = self.channel_attention(x)
        ms = self.spatial_attention(x)
        m = (mc + ms) if self.combine == 'sum' else (mc * ms)
        return x * (1 + m.sigmoid())
