"""The deep CIFAR ResNets of the attention papers' CIFAR experiments.

Imports mmpretrain: ``mmattn.CIFARResNet`` (registered in
:mod:`mmattn.models.backbones`) imports this module when it builds one."""
from mmpretrain.models.backbones import ResNet_CIFAR
from mmpretrain.models.backbones.resnet import BasicBlock, Bottleneck


class CIFARResNet(ResNet_CIFAR):
    """ResNet for 32x32 inputs with three stages of widths 16, 32 and 64
    (x4 with bottlenecks), as in He et al., "Deep Residual Learning for
    Image Recognition" (CVPR 2016, section 4.2) and fb.resnet.torch, the
    recipe of the SPEM and SE papers' CIFAR tables (ResNet-164: 18
    post-activation bottlenecks per stage).

    mmpretrain's ``ResNet_CIFAR`` has the ImageNet depths and widths only
    (four stages from 64 channels). This is the same module with the CIFAR
    depths: 6n+2 with basic blocks (20, 32, 44, 56, 110) and 9n+2 with
    bottlenecks (164, 1001). The stem is a 3x3 convolution to 16 channels,
    BN and ReLU, without max pooling; stages 2 and 3 halve the size.

    Args:
        depth (int): one of :attr:`arch_settings`.
        out_indices (tuple[int]): stages whose outputs are returned.
            Default: ``(2,)``, the last (N, 64 x expansion, H/4, W/4).
        **kwargs: other arguments of mmpretrain's ``ResNet``, except the
            widths and the number of stages, which the depth fixes.
    """
    arch_settings = {
        20: (BasicBlock, (3, 3, 3)),
        32: (BasicBlock, (5, 5, 5)),
        44: (BasicBlock, (7, 7, 7)),
        56: (BasicBlock, (9, 9, 9)),
        110: (BasicBlock, (18, 18, 18)),
        164: (Bottleneck, (18, 18, 18)),
        1001: (Bottleneck, (111, 111, 111)),
    }

    def __init__(self, depth, out_indices=(2,), **kwargs):
        if depth not in self.arch_settings:
            raise KeyError(f'depth must be one of {sorted(self.arch_settings)}'
                           f' (CIFAR ResNets), got {depth!r}')
        fixed = {'stem_channels', 'base_channels', 'num_stages', 'strides',
                 'dilations', 'deep_stem'} & set(kwargs)
        if fixed:
            raise TypeError(f'CIFARResNet fixes {sorted(fixed)} (the depth '
                            'sets the widths and three stages)')
        super().__init__(
            depth, stem_channels=16, base_channels=16, num_stages=3,
            strides=(1, 2, 2), dilations=(1, 1, 1), out_indices=out_indices,
            deep_stem=False, **kwargs)
