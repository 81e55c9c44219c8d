"""Split attention (ResNeSt's split-attention convolution).

Paper: "ResNeSt: Split-Attention Networks", H. Zhang, C. Wu, Z. Zhang,
Y. Zhu, H. Lin, Z. Zhang, Y. Sun, T. He, J. Mueller, R. Manmatha, M. Li,
A. Smola, CVPR Workshops 2022 (arXiv:2004.08955). Reference: the authors'
PyTorch code (zhanghang1989/ResNeSt, ``SplAtConv2d``), which mmdet's
``SplitAttentionConv2d`` and timm's ``SplitAttn`` follow.
"""
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer

from ..checks import (check_bool, check_groups, check_input,
                      check_odd_kernel, check_positive_int,
                      check_same_padding)
from ..ops import global_avg_pool
from .layers import refuse_single_sample_batch_norm


class SplitAttentionConv(nn.Module):
    """Split-attention conv: R grouped conv splits mixed by a softmax over
    the splits, per cardinal group.

    With radix R and cardinality K (``groups``): U = act(norm0(conv(x))),
    one k x k conv with K * R groups giving R * C channels, read as R
    splits U_r of C channels (radix-major). s = GAP(sum_r U_r);
    z = act(norm1(fc1(s))), a 1x1 conv C -> d with K groups and bias,
    d = max(C_in * R // reduction, min_channels); logits = fc2(z), a 1x1
    conv d -> R * C with K groups and bias, laid out (K, R, C / K) per
    sample. a = softmax over R within each cardinal group (R = 1: sigmoid);
    out = sum_r a_r * U_r, the channels of a_r in cardinal-group order.

    A drop-in for a ResNet Bottleneck's 3x3 conv: registered as
    ``mmattn.SplitAttentionConv``, ``dcn=dict(type='mmattn.
    SplitAttentionConv')`` with ``stage_with_dcn=`` in mmdet's
    ``ResNet``/``ResNeXt`` or mmseg's ``ResNetV1c`` builds it through
    ``build_conv_layer(dcn, planes, planes, kernel_size=3, stride=s,
    padding=d, dilation=d, bias=False)`` (ResNeXt adds ``groups``, the
    cardinality). The Bottleneck's norm2 and ReLU then follow it, as after a
    DCN; ResNeSt's own Bottleneck (mmdet's ``ResNeSt`` backbone, timm's
    ``resnest*``) has neither there (``BackboneWithBlocks(remove=
    r'layer\d+\.\d+\.bn2')`` drops the norm; the ReLU is then a no-op,
    the output being a convex combination of ReLU outputs). Its
    avg-pool downsampling ("avd") is ``avg_down_stride=True``.

    Follows the authors' code: d = max(C_in * R // 4, 32) (timm rounds
    C_in * R / 4 to a multiple of 8, at least 32, equal for every ResNeSt
    width); the same ``norm_cfg`` for norm0 and norm1. The state dict is the
    authors', mmdet's and timm's (``norm_layer=BatchNorm2d``), and loads as
    it is.

    Args:
        in_channels (int): input channels C_in.
        out_channels (int, optional): output channels C. Defaults to
            ``in_channels``.
        kernel_size (int): odd kernel size of the conv. Defaults to 3.
        stride (int): stride of the conv. Defaults to 1.
        padding (int, optional): accepted for ``build_conv_layer``; must be
            None or ``dilation * (kernel_size - 1) // 2``. Defaults to None.
        dilation (int): dilation of the conv. Defaults to 1.
        groups (int): cardinality K; must divide C and the attention width
            d, and K * R must divide C_in. Defaults to 1.
        bias (bool): bias of the conv; ignored when ``norm_cfg`` is set.
            Defaults to False.
        radix (int): splits R, >= 1. Defaults to 2.
        reduction (int): the 4 in d = max(C_in * R // 4, min_channels).
            Defaults to 4.
        min_channels (int): lower bound of d. Defaults to 32.
        norm_cfg (dict, optional): norm0 and norm1 (mmcv config). Defaults
            to BN. None: no norms (the conv then has a bias when ``bias``).
        act_cfg (dict): activation after each norm. Defaults to ReLU.
        avg_down_stride (bool): ResNeSt's "avd": with ``stride`` > 1 the
            conv runs at stride 1 and a 3x3 average pool (stride
            ``stride``, padding 1) follows the attention, as in the
            authors', mmdet's and timm's ResNeSt blocks. No parameters, so
            the state dict is the same. Defaults to False (the conv
            strides).

    Shapes:
        input (N, C_in, H, W) -> output (N, C, H', W') with
        H' = floor((H - 1) / stride) + 1 (a padded k x k conv); any H, W >= 1.

    Init: PyTorch's default (a backbone's ``init_cfg`` overrides it).

    State-dict keys: ``conv.weight``, ``bn0.*``, ``fc1.*``, ``bn1.*``,
    ``fc2.*`` (``gn0``/``gn1`` with GN, as mmcv names norms).
    """

    role = 'conv'  # see mmattn.blocks.catalog
    label = 'split attention'

    _abbr_ = 'split_attention'

    def __init__(self,
                 in_channels,
                 out_channels=None,
                 kernel_size=3,
                 stride=1,
                 padding=None,
                 dilation=1,
                 groups=1,
                 bias=False,
                 radix=2,
                 reduction=4,
                 min_channels=32,
                 norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'),
                 avg_down_stride=False):
        super().__init__()
        check_positive_int('in_channels', in_channels)
        check_positive_int('out_channels', out_channels, allow_none=True)
        out_channels = in_channels if out_channels is None else out_channels
        for name, value in (('stride', stride), ('dilation', dilation),
                            ('groups', groups), ('radix', radix),
                            ('reduction', reduction),
                            ('min_channels', min_channels)):
            check_positive_int(name, value)
        check_odd_kernel('kernel_size', kernel_size)
        check_same_padding(padding, kernel_size, dilation,
                           'the conv keeps the size before the stride')
        check_groups(groups, in_channels=in_channels,
                     out_channels=out_channels)
        if in_channels % (groups * radix):
            raise ValueError(
                f'groups * radix ({groups} * {radix}) must divide '
                f'in_channels ({in_channels}): the conv has that many groups')
        check_bool('bias', bias)
        check_bool('avg_down_stride', avg_down_stride)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.groups = groups
        self.radix = radix
        self.hidden_channels = max(in_channels * radix // reduction,
                                   min_channels)
        if self.hidden_channels % groups:
            raise ValueError(
                f'groups ({groups}) must divide the attention width '
                f'max(in_channels * radix // reduction, min_channels) = '
                f'{self.hidden_channels}; change min_channels or reduction')

        # avd: the attention sees the full-resolution splits, then a pool
        # strides (the authors' choice for ResNeSt's downsampling blocks)
        pool_stride = avg_down_stride and stride > 1
        self.conv = nn.Conv2d(
            in_channels, out_channels * radix, kernel_size,
            stride=1 if pool_stride else stride,
            padding=dilation * (kernel_size - 1) // 2, dilation=dilation,
            groups=groups * radix, bias=bias and norm_cfg is None)
        self.norm0_name, self.norm1_name = None, None
        if norm_cfg is not None:
            self.norm0_name, norm0 = build_norm_layer(
                norm_cfg, out_channels * radix, postfix=0)
            self.norm1_name, norm1 = build_norm_layer(
                norm_cfg, self.hidden_channels, postfix=1)
            self.add_module(self.norm0_name, norm0)
            self.add_module(self.norm1_name, norm1)
        self.act = build_activation_layer(act_cfg)
        self.fc1 = nn.Conv2d(out_channels, self.hidden_channels, 1,
                             groups=groups)
        self.fc2 = nn.Conv2d(self.hidden_channels, out_channels * radix, 1,
                             groups=groups)
        self.avd = nn.AvgPool2d(3, stride, padding=1) if pool_stride else None

    @property
    def norm0(self):
        """The norm after the conv (None without ``norm_cfg``)."""
        return getattr(self, self.norm0_name) if self.norm0_name else None

    @property
    def norm1(self):
        """The norm after fc1 (None without ``norm_cfg``)."""
        return getattr(self, self.norm1_name) if self.norm1_name else None

    def _norm_act(self, norm, x):
        return self.act(x if norm is None else norm(x))

    def split_weights(self, z):
        """Softmax (sigmoid for R = 1) weights (N, R, C, 1, 1) of the splits
        from the pooled features ``z`` (N, d, 1, 1)."""
        n, c, r, k = z.size(0), self.out_channels, self.radix, self.groups
        logits = self.fc2(z)
        if r == 1:
            return logits.sigmoid().view(n, 1, c, 1, 1)
        # fc2's channels are (K, R, C / K): softmax over R, then radix-major
        weights = logits.view(n, k, r, c // k).softmax(dim=2)
        return weights.transpose(1, 2).reshape(n, r, c, 1, 1)

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        if self.norm1 is not None:
            refuse_single_sample_batch_norm(self.norm1, x, 'norm_cfg')
        splits = self._norm_act(self.norm0, self.conv(x))
        splits = splits.unflatten(1, (self.radix, self.out_channels))
        z = self._norm_act(self.norm1,
                           self.fc1(global_avg_pool(splits.sum(dim=1))))
        out = (splits * self.split_weights(z)).sum(dim=1)
        return out if self.avd is None else self.avd(out)
