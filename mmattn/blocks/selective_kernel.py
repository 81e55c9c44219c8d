"""Selective Kernel (SK) convolution.

Paper: "Selective Kernel Networks", X. Li, W. Wang, X. Hu, J. Yang, CVPR 2019
(arXiv:1903.06586). Reference: the authors' Caffe prototxt (implus/SKNet).
"""
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from ..checks import (check_bool, check_groups, check_input,
                      check_odd_kernel, check_positive_int,
                      check_same_padding)
from ..ops import global_avg_pool
from .layers import refuse_single_sample_batch_norm, rename_state_keys


class SelectiveKernelConv(nn.Module):
    """SK convolution: M dilated grouped convs mixed by a softmax over paths.

    Split: U_m = act(norm(conv_m(x))), m = 0..M-1, each a k x k grouped conv
    with dilation ``dilation * (m + 1)`` (the paper's 3x3 and 5x5 kernels,
    the 5x5 as a 3x3 with dilation 2), stride ``stride``, padding keeping
    the size. Fuse: U = sum_m U_m; s = GAP(U); z = ReLU(norm(fc(s))),
    C -> d with d = max(C // reduction, min_channels). Select: one bias-free
    fc d -> M * C gives logits laid out path-major, (N, M, C); a = softmax
    over M; out = sum_m a_m * U_m.

    A drop-in for a ResNet Bottleneck's 3x3 conv: registered as
    ``mmattn.SelectiveKernelConv``, so ``dcn=dict(type=
    'mmattn.SelectiveKernelConv')`` with ``stage_with_dcn=`` in mmdet's
    ``ResNet``/``ResNeXt`` or mmseg's ``ResNetV1c`` builds it through
    ``build_conv_layer(dcn, planes, planes, kernel_size=3, stride=s,
    padding=d, dilation=d, bias=False)`` (ResNeXt adds ``groups``). The
    Bottleneck's own norm2 and ReLU still follow it, as they follow a DCN;
    the authors' SK-ResNet has neither there. ``mmattn.BackboneWithBlocks(
    backbone=..., remove=r'layer\\d+\\.\\d+\\.bn2')`` gives that layout (the
    ReLU is then a no-op: the output is a convex combination of ReLU
    outputs).
    A backbone dilation d (mmseg's D8 models) gives paths of dilation d and
    2d.

    Choices and deviations:

    - d keeps the paper's floor L = 32 (``min_channels``); timm's
      ``SelectiveKernel`` drops it and rounds C / 16 to a multiple of 8.
    - Both fcs are 1x1 convs on the pooled map; the first drops its bias
      (its norm has one), the second has none, as in the prototxt.
    - The fuse norm sees one value per channel and sample: with plain BN
      (the paper's) a training batch of 1 is refused with a ValueError;
      ``fc_norm_cfg`` takes GN or None (fc with bias) instead.
    - No identity start: it replaces a conv, the paper has none.

    Args:
        in_channels (int): input channels.
        out_channels (int, optional): output channels C. Defaults to
            ``in_channels``.
        kernel_size (int): odd kernel size k of every path. Defaults to 3.
        stride (int): stride of every path. Defaults to 1.
        padding (int, optional): accepted for ``build_conv_layer``; must be
            None or ``dilation * (k - 1) // 2`` (each path pads to keep the
            size for its own dilation). Defaults to None.
        dilation (int): dilation of the first path; path m uses
            ``dilation * (m + 1)``. Defaults to 1.
        groups (int): groups G of every path conv; must divide both channel
            counts. Defaults to 32.
        bias (bool): bias of the path convs; ignored when ``norm_cfg`` is
            set, as in ``ConvModule``. Defaults to False.
        num_paths (int): number of paths M, >= 2. Defaults to 2.
        reduction (int): r in d = max(C // r, L). Defaults to 16.
        min_channels (int): L in d = max(C // r, L). Defaults to 32.
        norm_cfg (dict, optional): norm after each path conv. Defaults to
            BN.
        act_cfg (dict, optional): activation after each path's norm.
            Defaults to ReLU.
        fc_norm_cfg (dict, optional): norm of the fuse fc. Defaults to BN.

    Shapes:
        input (N, in_channels, H, W) -> output (N, C, H', W') with
        H' = floor((H - 1) / stride) + 1 (the size of a padded 3x3 conv);
        any H, W >= 1.

    Init: ``ConvModule``'s (Kaiming for the path convs and fuse fc, norm
    weight 1, bias 0), PyTorch's default for the select fc.

    State-dict keys: ``paths.{m}.conv.*``, ``paths.{m}.bn.*``,
    ``fuse.conv.*``, ``fuse.bn.*``, ``select.weight``.
    """

    role = 'conv'  # see mmattn.blocks.catalog
    label = 'SK conv'

    _abbr_ = 'sk'

    def __init__(self,
                 in_channels,
                 out_channels=None,
                 kernel_size=3,
                 stride=1,
                 padding=None,
                 dilation=1,
                 groups=32,
                 bias=False,
                 num_paths=2,
                 reduction=16,
                 min_channels=32,
                 norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'),
                 fc_norm_cfg=dict(type='BN')):
        super().__init__()
        out_channels = in_channels if out_channels is None else out_channels
        for name, value in (('in_channels', in_channels),
                            ('out_channels', out_channels),
                            ('stride', stride), ('dilation', dilation),
                            ('groups', groups), ('reduction', reduction),
                            ('min_channels', min_channels)):
            check_positive_int(name, value)
        check_odd_kernel('kernel_size', kernel_size)
        check_same_padding(padding, kernel_size, dilation,
                           'every path keeps the size for its dilation')
        if (isinstance(num_paths, bool) or not isinstance(num_paths, int)
                or num_paths < 2):
            raise ValueError(f'num_paths must be an int >= 2, got '
                             f'{num_paths!r}')
        check_groups(groups, in_channels=in_channels,
                     out_channels=out_channels)
        check_bool('bias', bias)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.num_paths = num_paths
        self.hidden_channels = max(out_channels // reduction, min_channels)

        self.paths = nn.ModuleList([
            ConvModule(
                in_channels, out_channels, kernel_size, stride=stride,
                padding=dilation * (m + 1) * (kernel_size - 1) // 2,
                dilation=dilation * (m + 1), groups=groups,
                bias=bias if norm_cfg is None else 'auto',
                norm_cfg=norm_cfg, act_cfg=act_cfg)
            for m in range(num_paths)
        ])
        self.fuse = ConvModule(out_channels, self.hidden_channels, 1,
                               norm_cfg=fc_norm_cfg,
                               act_cfg=dict(type='ReLU'))
        self.select = nn.Conv2d(self.hidden_channels,
                                num_paths * out_channels, 1, bias=False)

    @staticmethod
    def convert_timm_state_dict(state_dict):
        """timm ``SelectiveKernel`` state -> this block's: ``paths`` keep
        their keys, ``attn.fc_reduce``/``attn.bn``/``attn.fc_select`` become
        ``fuse.conv``/``fuse.bn``/``select``. Only timm's
        ``split_input=False`` layout computes the same function (its default
        feeds each path a slice of the input channels); build the block with
        timm's groups and fuse width (``min_channels`` = its
        ``attn_channels``)."""
        return rename_state_keys(
            state_dict, {'paths.': 'paths.', 'attn.fc_reduce.': 'fuse.conv.',
                         'attn.bn.': 'fuse.bn.',
                         'attn.fc_select.': 'select.'},
            "timm's SelectiveKernel")

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        if self.fuse.with_norm:
            refuse_single_sample_batch_norm(self.fuse.norm, x, 'fc_norm_cfg')
        paths = torch.stack([path(x) for path in self.paths], dim=1)
        z = self.fuse(global_avg_pool(paths.sum(dim=1)))
        n = x.size(0)
        # path-major: logit m * C + c belongs to path m, channel c
        logits = self.select(z).view(n, self.num_paths, self.out_channels, 1,
                                     1)
        return (paths * logits.softmax(dim=1)).sum(dim=1)
