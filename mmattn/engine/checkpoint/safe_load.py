"""Checkpoints under ``torch.load(weights_only=True)`` (torch >= 2.6).

torch now refuses any pickled global it does not know, so mmengine's runner
cannot resume from its own checkpoints: the message hub stores
``HistoryBuffer`` objects and numpy scalars and arrays. mmengine offers no
hook into its ``torch.load`` call, so this is one of the changes
:mod:`mmattn.runtime` applies on request (``mmattn.runtime.install()``),
never at ``import mmattn``. It admits exactly those types, and only inside
mmengine's checkpoint loader (the ``safe_globals`` context is entered per
load, so a plain ``torch.load`` elsewhere in the process is unaffected). Anything else is refused with :class:`UnsafeCheckpointError`,
which names the offending globals; the weights-only unpickler stops at the
first unknown global, before anything is called.

One further fix is needed on the writing side: ``HistoryBuffer.__getstate__``
pickles its statistics table, whose default entries are the class's own
functions and are written as ``builtins.getattr(HistoryBuffer, 'min')``.
Admitting ``getattr`` would admit arbitrary attribute access, so instead the
defaults are left out of the pickle (``__setstate__`` restores them anyway) and
only user-registered statistics are written.

Checkpoints written by mmengine without mmattn do carry those
``getattr(HistoryBuffer, 'min')`` calls. They load too: the name
``builtins.getattr`` is bound, inside the loader only, to
:func:`_history_statistic`, which answers exactly those four lookups and
refuses any other (:class:`UnsafeCheckpointError`), so no attribute of any
other object can be reached.
"""
import pickle
import re

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from .atomic import check_checkpoint_file

try:  # numpy >= 2 moved its pickling helpers to numpy._core
    from numpy._core import multiarray as _np_multiarray
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core import multiarray as _np_multiarray

#: Numeric numpy dtypes; a pickled dtype is rebuilt as an instance of its
#: own class (``numpy.dtypes.Float64DType``...), so each class is named.
_NUMPY_DTYPE_CLASSES = sorted(
    {type(np.dtype(code)) for code in '?bBhHiIlLqQefdgFDG'},
    key=lambda cls: cls.__name__)

#: Every non-torch global that mmengine/mmseg/mmdet runners write into a
#: checkpoint: the message hub's HistoryBuffer and the numpy scalars, arrays
#: and dtypes it and ``runtime_info`` hold (``bytes`` carries array buffers).
SAFE_GLOBALS = [
    HistoryBuffer,
    np.ndarray,
    np.dtype,
    _np_multiarray._reconstruct,
    _np_multiarray.scalar,
    bytes,
] + _NUMPY_DTYPE_CLASSES

_DEFAULT_STATISTICS = ('min', 'max', 'current', 'mean')


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds a pickled object outside mmattn's allow-list."""


def _history_statistic(obj, name, *default):
    """What ``builtins.getattr`` means while a checkpoint loads.

    Only ``getattr(HistoryBuffer, name)`` for its default statistics, which
    stock mmengine pickles; anything else is refused before it runs.
    """
    if obj is HistoryBuffer and not default and name in _DEFAULT_STATISTICS:
        return getattr(HistoryBuffer, name)
    raise UnsafeCheckpointError(
        f'refusing builtins.getattr({getattr(obj, "__name__", type(obj))!r}, '
        f'{name!r}) in a checkpoint: only getattr(HistoryBuffer, one of '
        f'{_DEFAULT_STATISTICS}) is admitted')


#: Allow-list entries of the loader: the types plus the restricted getattr.
_LOADER_GLOBALS = SAFE_GLOBALS + [(_history_statistic, 'builtins.getattr')]


def history_buffer_getstate(self):
    """``HistoryBuffer.__getstate__`` under :mod:`mmattn.runtime`: the
    default statistics are left out of the pickle (see the module
    docstring)."""
    state = dict(self.__dict__)
    state.pop('statistics_methods', None)
    custom = {
        name: fn
        for name, fn in type(self)._statistics_methods.items()
        if not (name in _DEFAULT_STATISTICS
                and fn is getattr(HistoryBuffer, name))
    }
    if custom:
        state['statistics_methods'] = custom
    return state


def _offending_names(filename, err):
    """Names of the pickled globals outside the allow-list."""
    allowed = {f'{g.__module__}.{g.__qualname__}' for g in SAFE_GLOBALS}
    allowed.add('builtins.getattr')  # admitted, restricted (see above)
    names = []
    if isinstance(filename, str):
        try:
            names = [
                n for n in torch.serialization.
                get_unsafe_globals_in_checkpoint(filename) if n not in allowed
            ]
        except Exception:  # not a zip checkpoint: fall back to the message
            names = []
    refused = re.search(r'refusing (builtins\.getattr\([^)]*\))', str(err))
    if refused:  # the restricted getattr stopped it
        return [refused.group(1)]
    if not names:  # torch's message names the global it stopped at
        names = re.findall(r"GLOBAL ([\w.]+)|but got <class '([\w.]+)'>",
                           str(err))
        names = [a or b for a, b in names]
    return names or ['(unnamed)']


def with_allow_list(loader):
    """An mmengine scheme loader that loads under the allow-list and names
    what it refuses (:mod:`mmattn.runtime` registers it for local files and
    http(s))."""

    def load(filename, map_location=None, *args, **kwargs):
        if isinstance(filename, str) and '://' not in filename:
            check_checkpoint_file(filename)  # a clear error, not torch's
        with torch.serialization.safe_globals(_LOADER_GLOBALS):
            try:
                return loader(filename, map_location, *args, **kwargs)
            except pickle.UnpicklingError as err:
                what = ', '.join(_offending_names(filename, err))
                raise UnsafeCheckpointError(
                    f'refusing to load checkpoint {filename!r}: it holds '
                    f'pickled object(s) {what}, which are not among the types '
                    'mmengine/mmseg/mmdet checkpoints contain (tensors, '
                    'containers, HistoryBuffer, numpy scalars and arrays). '
                    'Nothing in it was executed. If you trust its source, '
                    'rewrite it with `python tools/convert_checkpoint.py '
                    'IN OUT --trust`.') from None

    load.__name__ = loader.__name__
    load.__doc__ = loader.__doc__
    return load
