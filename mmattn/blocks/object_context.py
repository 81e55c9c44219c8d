"""Object-contextual representations (OCR).

Paper: "Object-Contextual Representations for Semantic Segmentation",
Y. Yuan, X. Chen, J. Wang, ECCV 2020 (arXiv:1909.11065).

A coarse segmentation (the logits of a previous stage) splits the image into
K soft object regions; each region's pixel features are averaged into one
object representation; every pixel then attends over the K objects and its
own feature is fused with the object context it gathered. The attention is
pixels x objects, so memory is O(P * K), not the O(P^2) of non-local blocks.
"""
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from ..ops import dot_product_attention
from ..checks import check_input, check_positive_int, check_real


def _check_logits(logits, x):
    """Raise ValueError unless ``logits`` is (N, K, H, W) with x's N, H, W."""
    if (logits.dim() != 4 or logits.size(0) != x.size(0)
            or logits.shape[2:] != x.shape[2:] or logits.size(1) < 1):
        raise ValueError(
            f'logits must have shape (N, K, H, W) = ({x.size(0)}, K >= 1, '
            f'{x.size(2)}, {x.size(3)}) to match x {tuple(x.shape)}, got '
            f'{tuple(logits.shape)}')


class SpatialGather(nn.Module):
    """Object representations from soft object regions; no parameters.

    Soft region of object k: M_k = softmax over the P positions of
    ``scale * logits_k``; its representation f_k = sum_i M_ki x_i, a convex
    combination of pixel features.

    Args:
        scale (float): multiplies the logits before the softmax (an inverse
            temperature). Defaults to 1, the paper's and mmseg's value. Any
            finite number: 0 gives plain averages, negative values weight
            the positions least like object k.

    Shapes:
        x (N, C, H, W) and logits (N, K, H, W) -> (N, C, K, 1), the layout
        1x1 convs (and their norm layers) take to project the K objects.
    """

    def __init__(self, scale=1.0):
        super().__init__()
        check_real('scale', scale)
        self.scale = scale

    def forward(self, x, logits):
        if x.dim() != 4:
            raise ValueError(
                f'x must have shape (N, C, H, W), got {tuple(x.shape)}')
        _check_logits(logits, x)
        # The softmax over P positions and the P-term weighted sums run in
        # float32: in half precision most of the P weights are tiny and
        # sums of thousands of terms pile up rounding error.
        with torch.autocast(device_type=x.device.type, enabled=False):
            regions = torch.softmax(self.scale * logits.flatten(2).float(),
                                    dim=2)
            objects = torch.bmm(regions, x.flatten(2).float().transpose(1, 2))
        return objects.to(x.dtype).transpose(1, 2).unsqueeze(3)


class ObjectContext(nn.Module):
    """Object-contextual representation block; keeps the input shape.

    For pixel features x (N, C, H, W) and a previous stage's logits
    (N, K, H, W): object representations f = SpatialGather(x, logits)
    (K x C); q = query_project(x), k = key_project(f) (two 1x1 ConvModules
    each, C -> D -> D), v = value_project(f) (one, C -> D);
    w = softmax over the K objects of q k^T / sqrt(D);
    y = out_project(w v) (D -> C); out = bottleneck([y; x]) (2C -> C).
    The attention is :func:`mmattn.ops.dot_product_attention`, so its logits
    and softmax run in float32 under autocast.

    The logits are used as they come (not detached), so the object
    attention's gradient reaches the previous stage, as in mmseg and the
    authors' code.

    Args:
        in_channels (int): channels C of x (mmseg: the head's ``channels``).
        channels (int): width D of queries, keys and values (mmseg's
            ``ocr_channels``).
        region_scale (float): ``scale`` of :class:`SpatialGather`. Defaults
            to 1.
        conv_cfg (dict, optional): conv layer of every ConvModule.
        norm_cfg (dict, optional): norm layer of every ConvModule.
        act_cfg (dict, optional): activation of every ConvModule. Defaults
            to ReLU.

    Shapes:
        x (N, C, H, W) and logits (N, K, H, W), any K >= 1 -> (N, C, H, W).

    State-dict keys are those of mmseg's ``ObjectAttentionBlock``
    (``key_project.{0,1}``, ``query_project.{0,1}``, ``value_project``,
    ``out_project``, ``bottleneck``), created in its order, so its weights,
    its initialisation under a seed and its optimizer state carry over.
    """

    picture = 'object_context'  # how mmattn.visualization draws it

    def __init__(self,
                 in_channels,
                 channels,
                 region_scale=1.0,
                 conv_cfg=None,
                 norm_cfg=None,
                 act_cfg=dict(type='ReLU')):
        super().__init__()
        check_positive_int('in_channels', in_channels)
        check_positive_int('channels', channels)
        check_real('region_scale', region_scale)
        self.in_channels = in_channels
        self.channels = channels
        conv = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.key_project = nn.Sequential(
            ConvModule(in_channels, channels, 1, **conv),
            ConvModule(channels, channels, 1, **conv))
        self.query_project = nn.Sequential(
            ConvModule(in_channels, channels, 1, **conv),
            ConvModule(channels, channels, 1, **conv))
        self.value_project = ConvModule(in_channels, channels, 1, **conv)
        self.out_project = ConvModule(channels, in_channels, 1, **conv)
        self.spatial_gather = SpatialGather(region_scale)
        self.bottleneck = ConvModule(in_channels * 2, in_channels, 1, **conv)

    def forward(self, x, logits):
        check_input(x, self.in_channels, module=self)
        n, _, h, w = x.shape
        objects = self.spatial_gather(x, logits)  # (N, C, K, 1)
        query = self.query_project(x).flatten(2).transpose(1, 2)
        key = self.key_project(objects).flatten(2).transpose(1, 2)
        value = self.value_project(objects).flatten(2).transpose(1, 2)
        context = dot_product_attention(query, key, value,
                                        scale=self.channels**-0.5)
        context = context.transpose(1, 2).reshape(n, self.channels, h, w)
        context = self.out_project(context)
        return self.bottleneck(torch.cat([context, x], dim=1))
