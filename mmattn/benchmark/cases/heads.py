"""Cases of the DANet, non-local and SPANet heads and blocks, and of the
salient-position op."""
from typing import List

from torch import nn

from ..measure import Entry
from .framework import (decode_head_entry, _head_cfg, module_entry,
                        register_case, Size)


# --------------------------------------------------------------------------
# the cases
# --------------------------------------------------------------------------
@register_case(
    'da_head',
    size=(64, 128),
    help="mmseg's DAHead (DANet) on 1/8 of a 512x1024 crop: 2048 -> 512 "
    'channels, PAM at 64 channels, 19 classes')
def da_head(size: Size, batch: int) -> List[Entry]:
    cfg = dict(
        type='DAHead',
        in_channels=2048,
        channels=512,
        pam_channels=64,
        num_classes=19,
        dropout_ratio=0.1,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False)
    return [decode_head_entry(cfg, [2048], [size], batch, name='DAHead')]


@register_case(
    'nonlocal',
    size=(64, 128),
    help="mmcv's NonLocal2d (embedded Gaussian, reduction 2) vs mmseg's PAM "
    '(64 query/key channels) at 512 channels')
def nonlocal_vs_pam(size: Size, batch: int) -> List[Entry]:
    from mmseg.models.decode_heads.da_head import PAM  # not registered
    shape = (batch, 512, *size)
    return [
        module_entry(dict(type='NonLocal2d', in_channels=512), shape),
        module_entry(dict(type=PAM, in_channels=512, channels=64), shape),
    ]


# --------------------------------------------------------------------------
# SPANet (salient-positions attention)
# --------------------------------------------------------------------------
def _pam(in_channels, channels):
    from mmseg.models.decode_heads.da_head import PAM  # not registered
    return dict(type=PAM, in_channels=in_channels, channels=channels)


@register_case(
    'spa_block',
    size=(64, 128),
    batch=2,
    help="SalientPositionAttention (k=8) vs mmseg's PAM and mmcv's "
    'NonLocal2d at 512 channels (anchor: PAM)')
def spa_block(size: Size, batch: int) -> List[Entry]:
    shape = (batch, 512, *size)
    return [
        module_entry(_pam(512, 64), shape, name='PAM'),
        module_entry(dict(type='NonLocal2d', in_channels=512), shape),
        module_entry(
            dict(type='mmattn.SalientPositionAttention', in_channels=512),
            shape, name='SPA'),
    ]


@register_case(
    'spa_head',
    size=(64, 128),
    help="SPAHead vs mmseg's DAHead and NLHead (2048 -> 512 channels, "
    '19 classes; anchor: DAHead)')
def spa_head(size: Size, batch: int) -> List[Entry]:
    return [
        decode_head_entry(_head_cfg('DAHead', pam_channels=64), [2048],
                          [size], batch, name='DAHead'),
        decode_head_entry(_head_cfg('NLHead', reduction=2, use_scale=True,
                                    mode='embedded_gaussian'), [2048],
                          [size], batch, name='NLHead'),
        decode_head_entry(_head_cfg('mmattn.SPAHead'), [2048], [size], batch,
                          name='SPAHead'),
    ]


@register_case(
    'spa_whole_image',
    size=(128, 256),
    help='whole-image inference at 1/8 of 1024x2048: the SPA block at 512 '
    'channels, then the whole SPAHead (use --mode forward)')
def spa_whole_image(size: Size, batch: int) -> List[Entry]:
    return [
        module_entry(
            dict(type='mmattn.SalientPositionAttention', in_channels=512),
            (batch, 512, *size), name='SPA block'),
        decode_head_entry(_head_cfg('mmattn.SPAHead'), [2048], [size], batch,
                          name='SPAHead'),
    ]


class _SalientSelect(nn.Module):
    """``salient_select(x, k)`` as a module (mmattn's op or the plain one)."""

    def __init__(self, k, plain=False):
        super().__init__()
        self.k, self.plain = k, plain

    def forward(self, x):
        if self.plain:  # topk of the squared norm, then gather
            idx = x.pow(2).sum(1).topk(self.k, dim=1).indices
            return x.gather(2, idx[:, None].expand(-1, x.size(1), -1))
        from mmattn.ops import salient_select
        return salient_select(x, self.k)[0]


@register_case(
    'salient_select',
    size=(1, 32768),
    help='the salient_select op vs plain topk+gather on (N, 256, L), k=64 '
    '(--size 1xL; the GPU kernel runs with --device cuda)')
def salient_select_case(size: Size, batch: int) -> List[Entry]:
    shape = (batch, 256, size[0] * size[1])
    return [
        module_entry(lambda: _SalientSelect(64, plain=True), shape,
                     name='topk+gather'),
        module_entry(lambda: _SalientSelect(64), shape, name='salient_select'),
    ]


