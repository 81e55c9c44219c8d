"""SE, ECA and CBAM against straightforward implementations of the same
formulas (the plain modules are the anchors)."""
import torch
from torch import nn

from .framework import _block_pair_case


# --------------------------------------------------------------------------
# plugin blocks vs straightforward implementations of the same formulas
# --------------------------------------------------------------------------
class PlainSE(nn.Module):
    """SE written the obvious way: adaptive pool, two 1x1 convs, sigmoid."""

    def __init__(self, channels, reduction=16):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1)

    def forward(self, x):
        s = self.fc2(torch.relu(self.fc1(self.pool(x))))
        return x * torch.sigmoid(s)


class PlainECA(nn.Module):
    """ECA written the obvious way: adaptive pool, Conv1d over channels."""

    def __init__(self, channels, kernel_size):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.conv = nn.Conv1d(1, 1, kernel_size, padding=kernel_size // 2,
                              bias=False)

    def forward(self, x):
        y = self.pool(x).squeeze(-1).transpose(-1, -2)
        y = self.conv(y).transpose(-1, -2).unsqueeze(-1)
        return x * torch.sigmoid(y)


class PlainCBAM(nn.Module):
    """CBAM written the obvious way: adaptive avg/max pools into a shared
    Linear MLP, then channel max/mean into a 7x7 conv and BN."""

    def __init__(self, channels, reduction=16):
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(channels, channels // reduction), nn.ReLU(),
            nn.Linear(channels // reduction, channels))
        self.conv = nn.Conv2d(2, 1, 7, padding=3, bias=False)
        self.bn = nn.BatchNorm2d(1, momentum=0.01)

    def forward(self, x):
        n, c = x.shape[:2]
        avg = self.mlp(nn.functional.adaptive_avg_pool2d(x, 1).view(n, c))
        mx = self.mlp(nn.functional.adaptive_max_pool2d(x, 1).view(n, c))
        x = x * torch.sigmoid(avg + mx).view(n, c, 1, 1)
        pooled = torch.cat([x.max(1, keepdim=True)[0],
                            x.mean(1, keepdim=True)], 1)
        return x * torch.sigmoid(self.bn(self.conv(pooled)))


_block_pair_case(
    'se_block', 256,
    [('plain SE', dict(type=PlainSE, channels=256)),
     ('mmdet SELayer', dict(type='mmdet.models.layers.SELayer',
                            channels=256, ratio=16)),
     ('SqueezeExcitation', dict(type='mmattn.SqueezeExcitation',
                                in_channels=256))],
    size=(56, 56), batch=8,
    help="SqueezeExcitation vs a plain SE and mmdet's SELayer (which takes "
    '`channels`, so it is no plugin) on a ResNet stage-1 output (256 '
    'channels; anchor: plain)')
_block_pair_case(
    'eca_block', 256,
    [('plain ECA', dict(type=PlainECA, channels=256, kernel_size=5)),
     ('EfficientChannelAttention',
      dict(type='mmattn.EfficientChannelAttention', in_channels=256))],
    size=(56, 56), batch=8,
    help='EfficientChannelAttention vs a plain ECA (256 channels, k=5; '
    'anchor: plain)')
_block_pair_case(
    'cbam_block', 256,
    [('plain CBAM', dict(type=PlainCBAM, channels=256)),
     ('CBAM', dict(type='mmattn.CBAM', in_channels=256))],
    size=(56, 56), batch=8,
    help='CBAM vs a plain CBAM (256 channels; anchor: plain)')
