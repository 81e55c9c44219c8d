"""Gather-Excite (GE).

Paper: "Gather-Excite: Exploiting Feature Context in Convolutional Neural
Networks", J. Hu, L. Shen, S. Albanie, G. Sun, A. Vedaldi, NeurIPS 2018
(arXiv:1810.12348). Reference code: timm ``GatherExcite``.
"""
import math

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule

from ..checks import check_bool, check_choice, check_input, check_positive_int
from ..ops import global_avg_pool
from .layers import ChannelMLP, reduced_channels


class GatherExcite(nn.Module):
    """Gather-Excite gate; keeps the input shape.

    gather: x -> g, (N, C, ceil(H / e), ceil(W / e)) for extent e, or
    (N, C, 1, 1) for the global extent; optionally g = mlp(g);
    excite: out = x * sigmoid(upsample(g)) with nearest upsampling to H x W.

    Variants (the paper's names):

    - theta-minus (``extra_params=False``): parameter-free gather, average
      pooling with kernel 2e - 1, stride e, padding e - 1 and
      ``count_include_pad=False`` (timm's choice; the windows overlap and are
      centred on every e-th position); the global extent is GAP.
    - theta (``extra_params=True``): log2(e) depthwise 3x3 convs with stride
      2 and padding 1, each followed by ``norm_cfg`` (no conv bias with a
      norm), ReLU between them (not after the last).
    - theta-plus (``extra_params=True, use_mlp=True``): theta with a ReLU
      after its last norm too (the authors' ``RN50-GEPP.prototxt``:
      ``gather/bn`` -> ``gather/relu`` -> ``excite/1x1_down``), then an
      SE-style MLP (1x1 convs with bias, C -> C_r -> C, ReLU) on the gathered
      map, before the sigmoid. ``use_mlp=True`` with ``extra_params=False``
      (pooling + MLP) is also allowed, as in timm; with the global extent it
      is exactly SE.

    Choices and deviations:

    - The global extent with parameters (the paper's theta / theta-plus
      global: one depthwise conv whose kernel covers the whole H x W map) is
      refused with a ValueError: its weights fix the feature size, which
      varies in detection and segmentation. Use a finite extent with
      ``extra_params=True``, or ``extent=None, use_mlp=True`` (GAP + MLP).
    - Extents are restricted to 2, 4, 8 and None (the paper's set), so
      log2(e) is an integer.
    - Excite uses ``F.interpolate(size=(H, W), mode='nearest')``: when e
      divides H, position i reads gathered cell floor(i / e), as in timm;
      otherwise (e.g. odd sizes) it reads cell floor(i * ceil(H / e) / H),
      which spreads the cells evenly over H rather than on the pooling
      grid. No size is refused.
    - Hidden width of the MLP: ``max(1, C // reduction)`` as SE in this
      package (timm rounds C / 16 instead).

    Args:
        in_channels (int): channels C of the input.
        extent (int, optional): gather extent e, one of 2, 4, 8, or None for
            global. Defaults to None.
        extra_params (bool): gather with depthwise convs (theta) instead of
            average pooling (theta-minus). Defaults to False.
        use_mlp (bool): MLP on the gathered map (theta-plus). Defaults to
            False.
        reduction (int): MLP reduction ratio r, 1 <= r <= C when
            ``use_mlp``. Defaults to 16.
        norm_cfg (dict, optional): norm after each depthwise conv (mmcv
            config). Defaults to BN. None gives the convs a bias instead.

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1.

    Init: ``ConvModule``'s (Kaiming for the depthwise convs, norm weight 1,
    bias 0), PyTorch's default for the MLP.

    State-dict keys: ``gather.{i}.conv.*``, ``gather.{i}.bn.*`` (BN) for
    theta; ``mlp.fc1.*``, ``mlp.fc2.*`` with the MLP; none for theta-minus.
    """

    role = 'plugin'  # see mmattn.blocks.catalog
    label = 'GE-theta+ (e=8)'
    plugin_cfg = dict(extent=8, extra_params=True, use_mlp=True)

    _abbr_ = 'ge'
    EXTENTS = (2, 4, 8, None)

    def __init__(self,
                 in_channels,
                 extent=None,
                 extra_params=False,
                 use_mlp=False,
                 reduction=16,
                 norm_cfg=dict(type='BN')):
        super().__init__()
        check_positive_int('in_channels', in_channels)
        check_choice('extent', extent, self.EXTENTS)
        check_bool('extra_params', extra_params)
        check_bool('use_mlp', use_mlp)
        if extra_params and extent is None:
            raise ValueError(
                'extent=None (global) with extra_params=True is not '
                'supported: the paper\'s global gather with parameters is a '
                'depthwise conv whose kernel equals the feature size, which '
                'varies in dense prediction; use extent=2, 4 or 8 with '
                'extra_params=True, or extent=None with use_mlp=True')
        self.in_channels = in_channels
        self.extent = extent
        self.extra_params = extra_params
        self.use_mlp = use_mlp
        self.reduction = reduction

        self.gather = None
        if extra_params:
            num_convs = int(math.log2(extent))
            # ReLU between the convs; after the last one only before an MLP
            # (theta-plus, as the authors' prototxt), not before the sigmoid
            self.gather = nn.Sequential(*[
                ConvModule(
                    in_channels, in_channels, 3, stride=2, padding=1,
                    groups=in_channels, norm_cfg=norm_cfg,
                    act_cfg=(dict(type='ReLU')
                             if i < num_convs - 1 or use_mlp else None))
                for i in range(num_convs)
            ])
        if use_mlp:
            self.hidden_channels = reduced_channels(in_channels, reduction)
            self.mlp = ChannelMLP(in_channels, self.hidden_channels,
                                  dict(type='ReLU'))
        else:
            check_positive_int('reduction', reduction)
            self.hidden_channels = None
            self.mlp = None

    def gather_map(self, x):
        """The gathered map g before the sigmoid: (N, C, h, w)."""
        if self.gather is not None:
            g = self.gather(x)
        elif self.extent is None:
            g = global_avg_pool(x)
        else:
            e = self.extent
            g = F.avg_pool2d(x, 2 * e - 1, stride=e, padding=e - 1,
                             count_include_pad=False)
        if self.mlp is not None:
            g = self.mlp(g)
        return g

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        g = self.gather_map(x)
        if self.extent is not None:  # the global (N, C, 1, 1) broadcasts
            g = F.interpolate(g, size=x.shape[-2:], mode='nearest')
        return x * g.sigmoid()
