"""Convolutional Block Attention Module (CBAM).

Paper: "CBAM: Convolutional Block Attention Module", S. Woo, J. Park,
J.-Y. Lee, I. S. Kweon, ECCV 2018 (arXiv:1807.06521). Reference code:
Jongchan/attention-module.
"""
import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer

from ..checks import (check_bool, check_input, check_odd_kernel,
                      renamed_arguments)
from ..ops import global_avg_pool, global_max_pool
from .layers import ChannelMLP, reduced_channels, rename_state_keys


class CBAM(nn.Module):
    """CBAM: a channel gate, then a spatial gate; keeps the input shape.

    Channel gate: a = sigmoid(MLP(GAP(x)) + MLP(GMP(x))), one MLP (1x1 convs
    with bias, ReLU, C -> C // r -> C) shared by both poolings; x' = x * a.
    Spatial gate: m = [max_c(x'), mean_c(x')] (N, 2, H, W), max first as in
    the authors' code; s = sigmoid(norm(conv_kxk(m))) with a 2 -> 1 conv,
    padding (k - 1) // 2, no bias; out = x' * s.

    Deviations of timm's ``CbamModule`` that this block does not share: no
    MLP bias, [mean, max] order, BN momentum 0.1, no zero init. Its weights
    load into ``CBAM(C, mlp_bias=False)`` through
    :meth:`convert_timm_state_dict`, which swaps the spatial conv's two
    input channels; the outputs are then the same (in training, the BN
    momentum differs).

    Args:
        in_channels (int): channels C of the input.
        reduction (int): MLP reduction ratio r, 1 <= r <= C. Defaults to 16.
        spatial_kernel (int): odd kernel size of the spatial conv.
            Defaults to 7.
        norm_cfg (dict, optional): norm after the spatial conv (mmcv config,
            one channel). Defaults to BN with momentum 0.01 (the authors'
            PyTorch value). None leaves the spatial conv bare.
        zero_init (bool): start the spatial norm's weight and bias at 0
            (with ``norm_cfg=None``: the conv weight), so the spatial gate
            starts as sigmoid(0) = 0.5 everywhere. This is what the authors'
            ResNet init does. Defaults to True. Formerly
            ``zero_init_spatial_norm`` (deprecated name, accepted with a
            warning).
        authors_init (bool): the rest of the authors' ResNet init
            (Jongchan/attention-module ``model_resnet.py``): every bias of
            the block zero (the MLP's), Kaiming-normal fan-out for the
            spatial conv. Defaults to True, what the paper's models were
            trained with; False keeps PyTorch's default init.
        mlp_bias (bool): biases in the MLP's 1x1 convs (the authors' have
            them; timm's have none). Defaults to True.

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1.

    Init: the authors' (``authors_init``, ``zero_init``), else PyTorch's
    default. :meth:`init_weights` re-applies the special init, so that a
    backbone whose ``init_cfg`` sets every BN weight to 1 and every conv to
    its own Kaiming (mmseg/mmdet ResNet) still starts the spatial gate at
    0.5 with the authors' weights: mmengine
    calls a child's ``init_weights`` after the parent's ``init_cfg`` (and
    before a ``Pretrained`` checkpoint, which therefore wins).

    State-dict keys: ``mlp.fc1.*``, ``mlp.fc2.*``, ``spatial_conv.weight``,
    ``spatial_norm.*``.
    """

    picture = 'spatial_gate'  # how mmattn.visualization draws it

    role = 'plugin'  # see mmattn.blocks.catalog
    label = 'CBAM'

    _abbr_ = 'cbam'
    #: maps the spatial gate pools from the channels (its conv's inputs)
    spatial_maps = 2

    @renamed_arguments(zero_init_spatial_norm='zero_init')
    def __init__(self,
                 in_channels,
                 reduction=16,
                 spatial_kernel=7,
                 norm_cfg=dict(type='BN', momentum=0.01),
                 zero_init=True,
                 authors_init=True,
                 mlp_bias=True):
        super().__init__()
        self.in_channels = in_channels
        self.reduction = reduction
        self.hidden_channels = reduced_channels(in_channels, reduction)
        check_odd_kernel('spatial_kernel', spatial_kernel)
        self.spatial_kernel = spatial_kernel
        check_bool('zero_init', zero_init)
        check_bool('authors_init', authors_init)
        check_bool('mlp_bias', mlp_bias)
        self.zero_init = zero_init
        self.authors_init = authors_init

        self.mlp = ChannelMLP(in_channels, self.hidden_channels,
                              dict(type='ReLU'), bias=mlp_bias)
        self.spatial_conv = nn.Conv2d(
            self.spatial_maps, 1, spatial_kernel,
            padding=(spatial_kernel - 1) // 2, bias=False)
        self.spatial_norm = (None if norm_cfg is None else
                             build_norm_layer(norm_cfg, 1)[1])
        self.init_weights()

    def init_weights(self):
        """The authors' init (``authors_init``) and the zero start of the
        spatial gate (``zero_init``); see the class doc."""
        if self.authors_init:
            nn.init.kaiming_normal_(self.spatial_conv.weight, mode='fan_out')
            with torch.no_grad():
                for fc in (self.mlp.fc1, self.mlp.fc2):
                    if fc.bias is not None:
                        fc.bias.zero_()
        if not self.zero_init:
            return
        with torch.no_grad():
            if self.spatial_norm is None:
                self.spatial_conv.weight.zero_()
            else:
                for name in ('weight', 'bias'):
                    param = getattr(self.spatial_norm, name, None)
                    if param is not None:
                        param.zero_()

    @classmethod
    def convert_timm_state_dict(cls, state_dict):
        """timm ``CbamModule`` (``LightCbamModule`` for :class:`LightCBAM`)
        state -> this block's: ``channel.fc1/fc2`` -> ``mlp.fc1/fc2``,
        ``spatial.conv.conv`` -> ``spatial_conv``, ``spatial.conv.bn`` ->
        ``spatial_norm``; CBAM's spatial conv inputs swapped from timm's
        [mean, max] to [max, mean]. Load it into a block built with
        ``mlp_bias=False``."""
        out = rename_state_keys(
            state_dict, {'channel.fc1.': 'mlp.fc1.',
                         'channel.fc2.': 'mlp.fc2.',
                         'spatial.conv.conv.': 'spatial_conv.',
                         'spatial.conv.bn.': 'spatial_norm.'},
            f"timm's {'Light' if cls.spatial_maps == 1 else ''}CbamModule")
        if cls.spatial_maps == 2 and 'spatial_conv.weight' in out:
            out['spatial_conv.weight'] = out['spatial_conv.weight'].flip(1)
        return out

    def channel_gate(self, x):
        """Sigmoid channel weights (N, C, 1, 1) of x."""
        n = x.size(0)
        # one MLP call on both pooled vectors stacked along the batch
        pooled = torch.cat([global_avg_pool(x), global_max_pool(x)])
        avg, mx = self.mlp(pooled).split([n, n])  # sizes: n may be 0
        return (avg + mx).sigmoid()

    def spatial_pool(self, x):
        """The ``spatial_maps`` channel-pooled maps the spatial conv reads:
        [max_c(x), mean_c(x)], (N, 2, H, W)."""
        # max() over amax(): its backward scatters into the argmax positions
        # where amax's builds an (N, C, H, W) tie mask and a tie count, which
        # made the whole block's backward slower than a plain CBAM's. Both
        # are deterministic; on ties max() sends the gradient to one channel.
        return torch.cat([x.max(dim=1, keepdim=True)[0],
                          x.mean(dim=1, keepdim=True)], dim=1)

    def spatial_gate(self, x):
        """Sigmoid spatial weights (N, 1, H, W) of x."""
        y = self.spatial_conv(self.spatial_pool(x))
        if self.spatial_norm is not None:
            y = self.spatial_norm(y)
        return y.sigmoid()

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        x = x * self.channel_gate(x)
        return x * self.spatial_gate(x)


class LightCBAM(CBAM):
    """Light CBAM: CBAM with one pooled map per gate; keeps the input shape.

    timm's ``LightCbamModule`` (``create_attn('lcbam')``), an experimental
    variant with no paper; this block follows timm's code. Channel gate:
    a = sigmoid(MLP((GAP(x) + GMP(x)) / 2)), one MLP call instead of CBAM's
    two; x' = x * a. Spatial gate: m = (max_c(x') + mean_c(x')) / 2
    (N, 1, H, W); s = sigmoid(norm(conv_kxk(m))), a 1 -> 1 conv, padding
    (k - 1) // 2, no bias; out = x' * s.

    Args:
        in_channels (int): channels C of the input.
        reduction (int): MLP reduction ratio r, 1 <= r <= C. Defaults to 16.
        spatial_kernel (int): odd kernel size of the spatial conv.
            Defaults to 7.
        norm_cfg (dict, optional): norm after the spatial conv. Defaults to
            BN (timm's, momentum 0.1).
        zero_init (bool): start the spatial gate at 0.5 (see :class:`CBAM`).
            Defaults to False (timm's init).
        authors_init (bool): CBAM's authors' init (see :class:`CBAM`).
            Defaults to False (timm's init: PyTorch's defaults).
        mlp_bias (bool): biases in the MLP. Defaults to False (timm's).

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1.

    Init: PyTorch's default (timm's), unless ``zero_init``/``authors_init``.

    State-dict keys: ``mlp.fc1.weight``, ``mlp.fc2.weight``,
    ``spatial_conv.weight`` (1, 1, k, k), ``spatial_norm.*``; timm's load
    through :meth:`convert_timm_state_dict`.
    """

    role = 'plugin'  # see mmattn.blocks.catalog
    label = 'light CBAM'

    _abbr_ = 'light_cbam'
    spatial_maps = 1

    def __init__(self,
                 in_channels,
                 reduction=16,
                 spatial_kernel=7,
                 norm_cfg=dict(type='BN'),
                 zero_init=False,
                 authors_init=False,
                 mlp_bias=False):
        super().__init__(in_channels, reduction=reduction,
                         spatial_kernel=spatial_kernel, norm_cfg=norm_cfg,
                         zero_init=zero_init, authors_init=authors_init,
                         mlp_bias=mlp_bias)

    def channel_gate(self, x):
        """Sigmoid channel weights (N, C, 1, 1) of x."""
        pooled = 0.5 * (global_avg_pool(x) + global_max_pool(x))
        return self.mlp(pooled).sigmoid()

    def spatial_pool(self, x):
        """(max_c(x) + mean_c(x)) / 2, (N, 1, H, W)."""
        return 0.5 * (x.max(dim=1, keepdim=True)[0]
                      + x.mean(dim=1, keepdim=True))
