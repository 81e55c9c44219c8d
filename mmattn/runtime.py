"""Opt-in changes to mmengine, mmcv, mmseg and mmdet for the whole process.

``import mmattn`` only registers mmattn's modules. What mmattn adds to a run
beyond them comes two ways:

* **Selected in a config, through the hosts' extension points** (nothing
  outside the run changes): ``mmattn.CheckedLoadImageFromFile``,
  ``mmattn.CheckedLoadAnnotations`` and ``mmattn.CheckedCocoDataset``
  (:mod:`mmattn.datasets.checked_loading`), ``mmattn.AtomicCheckpointHook``
  and :func:`mmattn.engine.find_resumable_checkpoint`.
* **This module**, for every config without edits, and for the one change
  mmengine has no extension point for (its ``torch.load`` call). Importing
  it applies :func:`install`; so does a config line
  ``custom_imports=dict(imports=['mmattn', 'mmattn.runtime'])``, which every
  config mmattn ships has, and mmattn's ``tools/train.py``, ``tools/test.py``
  and the other tools that load checkpoints call :func:`install`.
  :func:`uninstall` puts everything back.

What :func:`install` changes, exactly (:func:`uninstall` restores each):

* checkpoints load under torch >= 2.6 ``weights_only``: mmengine's
  ``CheckpointLoader`` schemes ``''`` (local files), ``'http://'`` and
  ``'https://'`` are re-registered (``force=True``) with loaders that admit
  mmengine's own pickled types and nothing else, and
  ``mmengine.logging.HistoryBuffer.__getstate__`` stops pickling its
  default statistics as ``getattr`` calls;
* atomic checkpoint writes: ``mmengine.fileio.backends.LocalBackend.put``
  and ``put_text`` (every local file mmengine writes), and a module global
  ``open`` in ``mmengine.hooks.checkpoint_hook`` (``last_checkpoint``);
* resume skips a truncated checkpoint:
  ``mmengine.runner.runner.find_latest_checkpoint``;
* bad data is named: ``mmcv.transforms.LoadImageFromFile.transform``,
  mmseg's ``LoadAnnotations.transform`` and ``._load_seg_map``,
  ``mmseg.datasets.BaseSegDataset.get_data_info`` (adds ``num_classes`` to
  each sample, for the label check) and
  ``mmdet.datasets.CocoDataset.parse_data_info``.

The behaviour behind each is documented where it is implemented:
:mod:`mmattn.engine.checkpoint.safe_load`, :mod:`mmattn.engine.checkpoint.atomic`,
:mod:`mmattn.datasets.checked_loading`.
"""
import importlib

__all__ = ['install', 'uninstall', 'is_installed', 'PATCHED']

#: Every attribute :func:`install` changes, as ``'module:Owner.name'``
#: (``'module:name'`` for a module global).
PATCHED = (
    'mmengine.logging:HistoryBuffer.__getstate__',
    'mmengine.fileio.backends:LocalBackend.put',
    'mmengine.fileio.backends:LocalBackend.put_text',
    'mmengine.hooks.checkpoint_hook:open',
    'mmengine.runner.runner:find_latest_checkpoint',
    'mmcv.transforms:LoadImageFromFile.transform',
    'mmseg.datasets.transforms:LoadAnnotations.transform',
    'mmseg.datasets.transforms:LoadAnnotations._load_seg_map',
    'mmseg.datasets:BaseSegDataset.get_data_info',
    'mmdet.datasets:CocoDataset.parse_data_info',
)
#: The checkpoint loader schemes :func:`install` re-registers.
SCHEMES = ('', 'http://', 'https://')

_MISSING = object()
#: What install() replaced: (owner, name, previous value or _MISSING);
#: (prefix, previous loader, installed loader) for the schemes; and
#: mmengine's scheme table as it was (register_scheme rebinds it).
_saved_attributes = []
_saved_schemes = []
_saved_table = {}


def is_installed():
    """Whether :func:`install` is in effect."""
    return bool(_saved_attributes)


def _set(owner, name, value):
    _saved_attributes.append((owner, name, vars(owner).get(name, _MISSING)))
    setattr(owner, name, value)


def _resolve(target):
    module, _, path = target.partition(':')
    owner = importlib.import_module(module)
    *owners, name = path.split('.')
    for part in owners:
        owner = getattr(owner, part)
    return owner, name


def _replacements():
    """The new value of each of :data:`PATCHED`, in its order."""
    from mmcv.transforms import LoadImageFromFile
    from mmengine.dataset import BaseDataset
    from mmdet.datasets import CocoDataset
    from mmseg.datasets import BaseSegDataset
    from mmseg.datasets.transforms import LoadAnnotations

    from .datasets.checked_loading import (load_image_checked,
                                           load_seg_map_checked,
                                           parse_coco_checked,
                                           skipping_transform,
                                           with_num_classes)
    from .engine.checkpoint.atomic import (AtomicLocalBackend,
                                           checkpoint_hook_open,
                                           find_resumable_checkpoint)
    from .engine.checkpoint.safe_load import history_buffer_getstate
    # BaseSegDataset inherits get_data_info from mmengine's BaseDataset
    seg_get_data_info = vars(BaseSegDataset).get('get_data_info',
                                                 BaseDataset.get_data_info)
    return (
        history_buffer_getstate,
        AtomicLocalBackend.put,
        AtomicLocalBackend.put_text,
        checkpoint_hook_open,
        find_resumable_checkpoint,
        load_image_checked,
        skipping_transform(LoadAnnotations.transform),
        load_seg_map_checked,
        with_num_classes(seg_get_data_info),
        parse_coco_checked(CocoDataset.parse_data_info),
    )


def install():
    """Apply the changes listed in the module docstring. Idempotent."""
    if is_installed():
        return
    from mmengine.runner.checkpoint import (CheckpointLoader, load_from_http,
                                            load_from_local)

    from .engine.checkpoint.safe_load import with_allow_list
    values = _replacements()  # all imports first: fail before any change
    try:
        for target, value in zip(PATCHED, values):
            _set(*_resolve(target), value)
        _saved_table['table'] = CheckpointLoader._schemes
        for prefix in SCHEMES:
            previous = CheckpointLoader._get_checkpoint_loader(
                'x' if prefix == '' else prefix + 'x')
            loader = with_allow_list(load_from_local if prefix == ''
                                     else load_from_http)
            CheckpointLoader.register_scheme(prefix, loader, force=True)
            _saved_schemes.append((prefix, previous, loader))
    except BaseException:
        uninstall()
        raise


def uninstall():
    """Undo :func:`install`: every attribute it set gets its previous value
    back (or is removed where it added it), and mmengine's table of
    checkpoint schemes is again the same object, holding the previous
    loaders for the schemes it registered (a scheme registered by someone
    else since is kept). Idempotent."""
    from mmengine.runner.checkpoint import CheckpointLoader
    if _saved_table:
        table = _saved_table.pop('table')
        current = dict(CheckpointLoader._schemes)
        for prefix, previous, loader in _saved_schemes:
            if current.get(prefix) is loader:
                current[prefix] = previous
        # register_scheme re-sorts into a new dict; keep mmengine's order
        table.clear()
        table.update(sorted(current.items(), key=lambda t: t[0],
                            reverse=True))
        CheckpointLoader._schemes = table
        _saved_schemes.clear()
    while _saved_attributes:
        owner, name, previous = _saved_attributes.pop()
        if previous is _MISSING:
            delattr(owner, name)
        else:
            setattr(owner, name, previous)

install()
