"""Efficient Channel Attention (ECA).

Paper: "ECA-Net: Efficient Channel Attention for Deep Convolutional Neural
Networks", Q. Wang, B. Wu, P. Zhu, P. Li, W. Zuo, Q. Hu, CVPR 2020
(arXiv:1910.03151). Reference code: BangguWu/ECANet.
"""
import math

import torch.nn as nn

from ..checks import (check_choice, check_input, check_odd_kernel,
                      check_positive_int, check_real)
from ..ops import global_avg_pool


#: The kernel sizes per ResNet stage (1-4) of the authors' released
#: checkpoints (BangguWu/ECANet README: ``--ksize 3557`` for ECA-Net50 on
#: ImageNet, ``3357`` for ECA-Net101/152, ``3377`` for their Mask R-CNN R50).
#: The authors' code has no adaptive-k function: ``main.py`` takes k per
#: stage by hand. Use these to load their weights; they differ from
#: :func:`eca_kernel_size` (5, 5, 5, 7 for ResNet-50's 256-2048 channels).
ECA_AUTHORS_KERNEL_SIZES = {
    'resnet50': (3, 5, 5, 7),
    'resnet101': (3, 3, 5, 7),
    'resnet152': (3, 3, 5, 7),
    'mask-rcnn_resnet50': (3, 3, 7, 7),
}


def eca_kernel_size(channels, gamma=2, beta=1):
    """The paper's adaptive kernel size, ``|log2(C)/gamma + beta/gamma|_odd``.

    Eq. (12) of the paper: ``t = int(abs(log2(C) / gamma + beta / gamma))``;
    ``k = t`` if t is odd, else ``t + 1``. The authors' code does not compute
    it (their recipes set k per stage by hand, see
    :data:`ECA_AUTHORS_KERNEL_SIZES`). With gamma=2, beta=1:

    ======  ===  ===  ===  ===  ====  ====
    C        64  128  256  512  1024  2048
    k         3    5    5    5     5     7
    ======  ===  ===  ===  ===  ====  ====

    C < 8 gives k = 1 (a per-channel scale). timm's ``EcaModule`` clamps k to
    at least 3, so it differs only there. The authors' ResNet-50 checkpoint
    uses k = 3, 5, 5, 7 per stage instead: pass ``kernel_size`` per stage
    (one plugin entry per stage, as ``configs/plugins/*eca*`` do) to load it.
    """
    check_positive_int('channels', channels)
    check_real('gamma', gamma, positive=True)
    check_real('beta', beta)
    t = abs(math.log2(channels) / gamma + beta / gamma)
    if t > 2 * channels:  # a tiny gamma: k would be astronomically large
        raise ValueError(
            f'gamma={gamma} and beta={beta} give a kernel size of {t:.3g} '
            f'for {channels} channels; a kernel beyond 2 * channels - 1 = '
            f'{2 * channels - 1} reaches no further channel (gamma too '
            'small?)')
    t = int(t)
    return t if t % 2 else t + 1


class EfficientChannelAttention(nn.Module):
    """Efficient Channel Attention gate; keeps the input shape.

    y = GAP(x) seen as a length-C sequence (N, 1, C); y = Conv1d(1 -> 1,
    kernel k, padding (k - 1) // 2, no bias)(y): each channel's gate looks at
    its k neighbouring channels, no dimensionality reduction; out =
    x * sigmoid(y).

    Args:
        in_channels (int): channels C of the input.
        kernel_size (int, optional): odd kernel size k. None (default) picks
            it from C with the paper's rule :func:`eca_kernel_size` (3 for
            C=64, 5 for C=128..1024, 7 for C=2048); the authors' checkpoints
            use the per-stage sizes of :data:`ECA_AUTHORS_KERNEL_SIZES`.
        gamma (float): gamma of the adaptive rule. Defaults to 2.
        beta (float): b of the adaptive rule. Defaults to 1.
        padding_mode (str): ``'zeros'`` (the paper's) or ``'circular'``:
            the channel sequence wraps around, so the first and last
            channels see k neighbours too (timm's ``CecaModule``, "circular
            ECA"; same weights).

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1.

    Init: PyTorch's default for the Conv1d (the authors' code keeps it; a
    ResNet ``init_cfg`` for ``Conv2d`` does not touch it).

    State-dict keys: ``conv.weight`` of shape (1, 1, k), as the authors' code.
    """

    picture = 'channel_gate'  # how mmattn.visualization draws it

    role = 'plugin'  # see mmattn.blocks.catalog
    label = 'ECA'

    _abbr_ = 'eca'

    def __init__(self, in_channels, kernel_size=None, gamma=2, beta=1,
                 padding_mode='zeros'):
        super().__init__()
        check_choice('padding_mode', padding_mode, ('zeros', 'circular'))
        check_positive_int('in_channels', in_channels)
        check_odd_kernel('kernel_size', kernel_size, allow_none=True)
        check_real('gamma', gamma, positive=True)
        check_real('beta', beta)
        if kernel_size is None:
            kernel_size = eca_kernel_size(in_channels, gamma, beta)
        if padding_mode == 'circular' and kernel_size // 2 > in_channels:
            raise ValueError(
                f"padding_mode='circular' wraps at most once around the "
                f'{in_channels} channels: kernel_size must be <= '
                f'{2 * in_channels + 1}, got {kernel_size}')
        self.in_channels = in_channels
        self.kernel_size = kernel_size
        self.conv = nn.Conv1d(
            1, 1, kernel_size, padding=(kernel_size - 1) // 2, bias=False,
            padding_mode=padding_mode)

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        y = global_avg_pool(x).flatten(1).unsqueeze(1)  # (N, 1, C)
        y = self.conv(y).view(-1, self.in_channels, 1, 1)
        return x * y.sigmoid()
