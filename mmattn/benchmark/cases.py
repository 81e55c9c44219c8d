"""Named comparison cases and builders of OpenMMLab entries.

A *case* is a function ``(size, batch) -> List[Entry]`` registered under a name
with :func:`register_case`; ``tools/benchmark.py --case NAME`` measures its
entries side by side, the first one being the anchor of the ratio columns.
``size`` is the ``(H, W)`` of the case's input (a feature map for blocks and
heads, the image for whole models) and ``batch`` its batch size; both have
per-case defaults that the CLI's ``--size``/``--batch`` override.

Adding a case (see ``docs/benchmark.md``)::

    @register_case('spa_block', size=(64, 128),
                   help='our SPA block vs PAM vs NonLocal2d at 512 channels')
    def spa_block(size, batch):
        shape = (batch, 512, *size)
        from mmseg.models.decode_heads.da_head import PAM
        return [
            module_entry(
                dict(type='mmattn.SalientPositionAttention', in_channels=512),
                shape, name='SPA'),
            module_entry(dict(type=PAM, in_channels=512, channels=64), shape),
            module_entry(dict(type='NonLocal2d', in_channels=512), shape),
        ]

This module imports mmseg, mmdet and mmcv inside its functions only (at
module level it needs PyTorch alone), so registering a case costs nothing
until the case runs.
"""
import copy
import os.path as osp
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from .measure import Entry

__all__ = [
    'Case', 'CASES', 'register_case', 'get_case', 'list_cases',
    'build_module', 'module_entry', 'decode_head_entry', 'model_entry',
    'head_inputs'
]

Size = Tuple[int, int]


@dataclass
class Case:
    """A registered case: its builder and the defaults of its arguments."""
    name: str
    fn: Callable[[Size, int], List[Entry]]
    size: Size
    batch: int = 1
    help: str = ''

    def entries(self, size: Optional[Size] = None,
                batch: Optional[int] = None) -> List[Entry]:
        size = tuple(size) if size is not None else self.size
        batch = batch if batch is not None else self.batch
        return list(self.fn(size, batch))


#: The registered cases by name.
CASES: Dict[str, Case] = {}


def register_case(name: str, size: Size, batch: int = 1, help: str = ''):
    """Decorator registering ``fn(size, batch) -> List[Entry]`` as a case."""

    def decorator(fn):
        if name in CASES:
            raise KeyError(f'benchmark case {name!r} is already registered')
        doc = help or (fn.__doc__ or '').strip().split('\n')[0]
        CASES[name] = Case(name, fn, tuple(size), batch, doc)
        return fn

    return decorator


def get_case(name: str) -> Case:
    if name not in CASES:
        raise KeyError(f'unknown benchmark case {name!r}; known cases: '
                       f'{", ".join(sorted(CASES))}')
    return CASES[name]


def list_cases() -> List[Case]:
    return [CASES[name] for name in sorted(CASES)]


# --------------------------------------------------------------------------
# building modules through the OpenMMLab registries
# --------------------------------------------------------------------------
def build_module(cfg: dict, scope: str = 'mmseg') -> nn.Module:
    """Build ``cfg`` with mmengine's root ``MODELS`` under default ``scope``.

    ``type`` may be an unscoped name of ``scope`` (``'DAHead'``), a scoped
    name of any package (``'mmattn.X'``, ``'mmdet.X'``), a full import path
    (``'mmseg.models.decode_heads.da_head.PAM'``) or a class; the config's own
    ``_scope_`` wins over ``scope``. mmcv.cnn's layers (``NonLocal2d``,
    ``ConvModule``, ...) live in mmengine's root registry and so build from
    any scope once mmcv.cnn is imported, which this function does.
    """
    import mmcv.cnn  # noqa: F401  (mmcv's layers, in the root registry)
    from mmengine.registry import MODELS

    import mmattn.registry  # noqa: F401  (the node 'mmattn.X' resolves in)
    cfg = copy.deepcopy(dict(cfg))
    if scope is not None:
        cfg.setdefault('_scope_', scope)
    return MODELS.build(cfg)


def _type_name(cfg: dict) -> str:
    t = cfg.get('type', 'module')
    return t.__name__ if isinstance(t, type) else str(t).split('.')[-1]


def module_entry(spec: Union[dict, Callable[[], nn.Module]],
                 shape: Sequence[int],
                 name: Optional[str] = None,
                 scope: str = 'mmseg',
                 input_requires_grad: bool = True) -> Entry:
    """A block taking one ``(N, C, H, W)`` tensor of ``shape``.

    ``spec`` is a config dict (built by :func:`build_module`) or a factory.
    """
    shape = tuple(int(s) for s in shape)
    if isinstance(spec, dict):
        name = name or _type_name(spec)
        cfg = copy.deepcopy(spec)

        def make_module():
            return build_module(cfg, scope)
    else:
        name = name or getattr(spec, '__name__', 'module')
        make_module = spec

    def make_inputs():
        return torch.randn(shape)

    return Entry(name, make_module, make_inputs, input_requires_grad)


def head_inputs(channels: Sequence[int], sizes: Sequence[Size],
                batch: int = 1) -> List[torch.Tensor]:
    """Random multi-level features ``[(batch, c, h, w), ...]`` for a head."""
    return [
        torch.randn(batch, c, h, w) for c, (h, w) in zip(channels, sizes)
    ]


def decode_head_entry(cfg: dict,
                      channels: Sequence[int],
                      sizes: Sequence[Size],
                      batch: int = 1,
                      name: Optional[str] = None,
                      scope: str = 'mmseg') -> Entry:
    """An mmseg decode head fed a list of feature maps.

    ``channels``/``sizes`` describe every level of the list the head receives
    (the head picks its ``in_index`` levels itself), e.g. ``[2048]`` and
    ``[(64, 128)]`` for a single-level head on 1/8 of a 512x1024 crop. Its
    forward is ``head(features)``; the backward goes through every output
    (DAHead returns three logits maps).
    """
    cfg = copy.deepcopy(cfg)
    channels, sizes = list(channels), [tuple(s) for s in sizes]

    def make_module():
        return build_module(cfg, scope)

    def make_inputs():
        return head_inputs(channels, sizes, batch)

    return Entry(name or _type_name(cfg), make_module, make_inputs, True)


class TensorModeModel(nn.Module):
    """Wraps an OpenMMLab model so that ``forward(images)`` is its
    ``forward(images, data_samples, mode='tensor')``: backbone, neck and head
    up to the raw head outputs, without pre- or post-processing.
    """

    def __init__(self, model: nn.Module, data_samples_fn=None):
        super().__init__()
        self.model = model
        self.data_samples_fn = data_samples_fn

    def forward(self, inputs: torch.Tensor):
        data_samples = (
            self.data_samples_fn(inputs)
            if self.data_samples_fn is not None else None)
        return self.model(inputs, data_samples, mode='tensor')


def _det_data_samples(inputs: torch.Tensor):
    """Minimal mmdet data samples: what ``mode='tensor'`` reads (metainfo)."""
    from mmdet.structures import DetDataSample
    h, w = inputs.shape[-2:]
    meta = dict(
        img_shape=(h, w),
        ori_shape=(h, w),
        pad_shape=(h, w),
        batch_input_shape=(h, w),
        scale_factor=(1.0, 1.0))
    return [DetDataSample(metainfo=meta) for _ in range(inputs.shape[0])]


def model_entry(config: Union[str, dict],
                size: Size = (512, 1024),
                batch: int = 1,
                name: Optional[str] = None,
                scope: Optional[str] = None) -> Entry:
    """A whole model from a config file (or a loaded ``Config``).

    The model is ``cfg.model`` built in the config's ``default_scope`` (else
    ``scope``, else ``'mmseg'``), with SyncBN reverted to BN so that it runs
    in one process; its input is a batch of ``(batch, 3, H, W)`` normalised
    random images through ``model(images, data_samples, mode='tensor')``
    (mmdet models get data samples carrying the image metainfo). The
    pre-trained weights named in the config are not loaded: only the shapes
    matter here.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    scope = cfg.get('default_scope', None) or scope or 'mmseg'
    model_cfg = copy.deepcopy(cfg.model)
    if name is None:
        name = (osp.splitext(osp.basename(config))[0]
                if isinstance(config, str) else _type_name(model_cfg))
    def make_module():
        from mmengine.model import revert_sync_batchnorm
        model = revert_sync_batchnorm(build_module(model_cfg, scope))
        samples_fn = _det_data_samples if scope == 'mmdet' else None
        return TensorModeModel(model, samples_fn)

    def make_inputs():
        return torch.randn(batch, 3, *size)

    return Entry(name, make_module, make_inputs, False)


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


def _head_cfg(type_, **extra):
    return dict(
        type=type_,
        in_channels=2048,
        channels=512,
        num_classes=19,
        dropout_ratio=0.1,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        **extra)


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


# --------------------------------------------------------------------------
# backbone plugins: what each adds to a ResNet-50
# --------------------------------------------------------------------------
def _variants(role):
    """``(label, config)`` of every registered block of ``role`` (see
    :mod:`mmattn.blocks.catalog`), with its ``plugin_cfg``."""
    from ..blocks.catalog import label_of, plugin_kwargs, registered_blocks
    return tuple(
        (label_of(cls), dict(type=f'mmattn.{cls.__name__}',
                             **plugin_kwargs(cls)))
        for cls in registered_blocks(role))


#: Every registered plugin block, after conv3 of every bottleneck.
PLUGIN_VARIANTS = _variants('plugin')

#: Convolution replacements, in the 3x3 conv of every bottleneck (``dcn=``).
CONV_VARIANTS = _variants('conv')


@register_case(
    'plugins_resnet50',
    size=(224, 224),
    batch=8,
    help="each plugin after conv3 of every bottleneck of mmdet's ResNet-50 "
    'vs the plain ResNet-50 (anchor)')
def plugins_resnet50(size: Size, batch: int) -> List[Entry]:
    shape = (batch, 3, *size)

    def resnet(plugin=None, conv=None):
        cfg = dict(type='ResNet', depth=50, norm_cfg=dict(type='BN'))
        if plugin is not None:
            cfg['plugins'] = [
                dict(cfg=plugin, stages=(True, True, True, True),
                     position='after_conv3')
            ]
        if conv is not None:
            cfg.update(dcn=conv, stage_with_dcn=(True, True, True, True))
        return cfg

    return [module_entry(resnet(), shape, name='ResNet-50', scope='mmdet')] + [
        module_entry(resnet(plugin), shape, name=f'+ {name}', scope='mmdet')
        for name, plugin in PLUGIN_VARIANTS
    ] + [
        module_entry(resnet(conv=conv), shape, name=name, scope='mmdet')
        for name, conv in CONV_VARIANTS
    ]


# --------------------------------------------------------------------------
# global-context blocks and heads: ours vs mmseg's / mmcv's of the same name
# --------------------------------------------------------------------------
def _block_pair_case(name, channels, entries, help, size=(64, 128),
                     batch=2):
    """Register a case measuring blocks on one ``(batch, channels, H, W)``
    map. ``entries``: ``[(row name, config dict), ...]``, the first being
    the anchor; types of packages other than mmattn are given as import
    paths (or classes of this module) so that nothing is imported before the
    case runs."""

    def case(size: Size, batch: int) -> List[Entry]:
        shape = (batch, channels, *size)
        return [
            module_entry(cfg, shape, name=label) for label, cfg in entries
        ]

    register_case(name, size=size, batch=batch, help=help)(case)


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
