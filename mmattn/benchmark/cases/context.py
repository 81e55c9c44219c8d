"""Global-context blocks and heads: mmattn's against mmseg's or mmcv's of
the same name."""
from typing import List

from torch import nn

from ..measure import Entry
from .framework import (_block_pair_case, build_module, decode_head_entry,
                        _head_cfg, head_inputs, register_case, Size)


# --------------------------------------------------------------------------
# global-context blocks and heads: ours vs mmseg's / mmcv's of the same name
# --------------------------------------------------------------------------


_PAM = 'mmseg.models.decode_heads.da_head.PAM'  # not registered in mmseg
_CAM = 'mmseg.models.decode_heads.da_head.CAM'
_block_pair_case(
    'pam_block', 512,
    [('mmseg PAM', dict(type=_PAM, in_channels=512, channels=64)),
     ('PositionAttention', dict(type='mmattn.PositionAttention',
                                in_channels=512, channels=64))],
    help="PositionAttention vs mmseg's PAM: 512 channels, 64-wide keys "
    '(anchor: PAM)')
_block_pair_case(
    'nonlocal_block', 512,
    [('mmcv NonLocal2d', dict(type='NonLocal2d', in_channels=512,
                              reduction=8)),
     ('NonLocal', dict(type='mmattn.NonLocal', in_channels=512,
                       reduction=8))],
    help="NonLocal vs mmcv's NonLocal2d (embedded Gaussian) at 512 channels "
    'with 64-wide embeddings (reduction 8; anchor: NonLocal2d)')
_block_pair_case(
    'cam_block', 512,
    [('mmseg CAM', dict(type=_CAM)),
     ('ChannelAttention', dict(type='mmattn.ChannelAttention',
                               in_channels=512))],
    help="ChannelAttention vs mmseg's CAM at 512 channels (anchor: CAM)")
_block_pair_case(
    'cca_block', 512,
    [('mmcv CrissCrossAttention', dict(type='mmcv.ops.CrissCrossAttention',
                                       in_channels=512)),
     ('CrissCrossAttention', dict(type='mmattn.CrissCrossAttention',
                                  in_channels=512))],
    help='CrissCrossAttention vs mmcv.ops.CrissCrossAttention at 512 '
    'channels (anchor: mmcv)')
_block_pair_case(
    'gc_block', 512,
    [('mmcv ContextBlock', dict(type='ContextBlock', in_channels=512,
                                ratio=1 / 4)),
     ('GlobalContext', dict(type='mmattn.GlobalContext', in_channels=512,
                            ratio=1 / 4))],
    help="GlobalContext vs mmcv's ContextBlock (ratio 1/4, att pooling, "
    'channel_add) at 512 channels (anchor: ContextBlock)')


#: Each context head's mmseg config (Cityscapes R50-D8 decode head) and the
#: feature levels it reads: ``(name, extra args, channels, in_index)``.
CONTEXT_HEADS = (
    ('DAHead', dict(pam_channels=64), [2048], 0),
    ('NLHead', dict(reduction=2, use_scale=True, mode='embedded_gaussian'),
     [2048], 0),
    ('CCHead', dict(recurrence=2), [2048], 0),
    ('GCHead', dict(ratio=1 / 4., pooling_type='att',
                    fusion_types=('channel_add', )), [2048], 0),
    ('ANNHead', dict(project_channels=256, query_scales=(1, ),
                     key_pool_scales=(1, 3, 6, 8)), [1024, 2048], [0, 1]),
)


def _context_head_cfg(type_, extra, in_index, channels):
    cfg = _head_cfg(type_, **extra)
    cfg['in_channels'] = channels if len(channels) > 1 else channels[0]
    cfg['in_index'] = in_index
    return cfg


def _context_head_case(name, extra, channels, in_index):

    def case(size: Size, batch: int) -> List[Entry]:
        sizes = [size] * len(channels)
        return [
            decode_head_entry(
                _context_head_cfg(name, extra, in_index, channels), channels,
                sizes, batch, name=f'mmseg {name}'),
            decode_head_entry(
                _context_head_cfg(f'mmattn.{name}', extra, in_index,
                                  channels), channels, sizes, batch,
                name=f'mmattn.{name}'),
        ]

    return case


for _name, _extra, _channels, _in_index in CONTEXT_HEADS:
    register_case(
        f'{_name[:-4].lower()}_head_pair',
        size=(64, 128),
        help=f"mmattn.{_name} vs mmseg's {_name} on 1/8 of a 512x1024 crop "
        '(anchor: mmseg)')(
            _context_head_case(_name, _extra, _channels, _in_index))


class _OCRStage(nn.Module):
    """OCRHead as the second stage of OCRNet: ``forward(feats)`` runs it on
    ``feats[:-1]`` with ``feats[-1]`` as the first stage's logits (the FCN
    stage itself is not measured).
    """

    def __init__(self, cfg):
        super().__init__()
        self.head = build_module(cfg)

    def forward(self, feats):
        return self.head(feats[:-1], feats[-1])


@register_case(
    'ocr_head_pair',
    size=(64, 128),
    help="mmattn.OCRHead vs mmseg's OCRHead (second stage of OCRNet R50-D8, "
    '19 object regions; anchor: mmseg)')
def ocr_head_pair(size: Size, batch: int) -> List[Entry]:

    def entry(type_, name):
        cfg = dict(type=type_, in_channels=2048, in_index=0, channels=512,
                   ocr_channels=256, num_classes=19, dropout_ratio=0.1,
                   norm_cfg=dict(type='BN', requires_grad=True),
                   align_corners=False)
        return Entry(name, lambda: _OCRStage(cfg),
                     lambda: head_inputs([2048, 19], [size, size], batch),
                     True)

    return [entry('OCRHead', 'mmseg OCRHead'),
            entry('mmattn.OCRHead', 'mmattn.OCRHead')]


@register_case(
    'context_whole_image',
    size=(128, 256),
    help='whole-image inference at 1/8 of 1024x2048 (use --mode forward): '
    "DAHead and NLHead, ours and mmseg's (anchor: mmattn.DAHead)")
def context_whole_image(size: Size, batch: int) -> List[Entry]:
    entries = []
    for name, extra, channels, in_index in CONTEXT_HEADS[:2]:
        for type_ in (f'mmattn.{name}', name):
            entries.append(decode_head_entry(
                _context_head_cfg(type_, extra, in_index, channels),
                channels, [size], batch,
                name=type_ if '.' in type_ else f'mmseg {name}'))
    return entries


