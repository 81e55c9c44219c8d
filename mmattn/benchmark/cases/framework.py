"""The case framework: registering and finding cases, and building
entries (blocks, decode heads, whole models) through the OpenMMLab
registries."""
import copy
import os.path as osp
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from ..measure import Entry


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
