"""The checks behind mmattn's bad-data errors: what is wrong with an image
file, a label map or a COCO segmentation, and what to do about it.

Stock mmcv/mmseg/mmdet loading lets bad files through or fails far away:
mmcv decodes a truncated JPEG into an image with a grey bottom, returns
``None`` for an undecodable PNG (an ``AssertionError`` or ``AttributeError``
follows) and raises an OpenCV assertion for an empty file; mmseg takes a
label map of the wrong size or with values beyond the classes, which
surface as a shape error or an index error deep inside the loss; mmdet drops
malformed COCO polygons without a word and finds a missing image only when
it reads it.

The loaders that use these checks are in :mod:`mmattn.datasets.checked_loading`
(registered transforms and a dataset, selected by type in a config) and,
for every config without edits, :mod:`mmattn.runtime` (opt-in). Each problem
raises :class:`BadDataError` (a ``ValueError``) naming the file and what is
wrong; with the policy ``'skip'`` it is logged as a warning instead and the
sample (or annotation) is skipped.

The policy is a loader's ``bad_data`` argument; where that is None (the
stock loaders under :mod:`mmattn.runtime`), the process's policy, which
``tools/train.py`` sets from the config key ``bad_data`` through the
environment variable ``MMATTN_BAD_DATA`` so that data-loader workers see it.
"""
import logging
import math
import os
import os.path as osp

import numpy as np
from mmengine.logging import print_log

from ..files import read_ends

__all__ = [
    'BadDataError', 'POLICIES', 'POLICY_VARIABLE', 'bad_data_policy',
    'set_bad_data_policy', 'check_policy', 'report', 'image_bytes_problem',
    'image_file_problem', 'decode_problem', 'label_problem',
    'segmentation_problem'
]

#: Environment variable holding the process's bad-data policy ('error' or
#: 'skip'), so that data-loader worker processes see it too.
POLICY_VARIABLE = 'MMATTN_BAD_DATA'
POLICIES = ('error', 'skip')
#: mmseg's ignore index: the only label value allowed beyond the classes.
SEG_IGNORE_INDEX = 255
#: How many bytes at each end of a file tell its format and its completeness.
_HEAD, _TAIL = 8, 64


class BadDataError(ValueError):
    """A data file (image, label map, annotation file) is unusable."""


def bad_data_policy():
    """The process's policy: 'error' (default) or 'skip', from
    ``MMATTN_BAD_DATA``."""
    policy = os.environ.get(POLICY_VARIABLE, 'error')
    if policy not in POLICIES:
        raise ValueError(f'{POLICY_VARIABLE}={policy!r}: expected one of '
                         f'{POLICIES}')
    return policy


def set_bad_data_policy(policy):
    """Set the process's policy, for it and the processes it starts."""
    check_policy(policy, 'bad_data', allow_none=False)
    os.environ[POLICY_VARIABLE] = policy


def check_policy(policy, name='bad_data', allow_none=True):
    """Return ``policy`` if it is one of :data:`POLICIES` (or None, the
    process's policy, where ``allow_none``); else a ValueError naming
    ``name``."""
    if policy is None and allow_none:
        return policy
    if policy not in POLICIES:
        raise ValueError(f'{name}={policy!r}: expected one of {POLICIES}'
                         + (' or None (the process policy, '
                            f'{POLICY_VARIABLE})' if allow_none else ''))
    return policy


def report(message, policy=None):
    """Raise :class:`BadDataError`, or warn and return True (skip), by
    ``policy`` (None: the process's policy)."""
    if (policy or bad_data_policy()) == 'error':
        raise BadDataError(message)
    print_log(f'skipping bad data: {message}', logger='current',
              level=logging.WARNING)
    return True


def _ends_problem(size, head, tail):
    if head.startswith(b'\x89PNG\r\n\x1a\n') and b'IEND' not in tail:
        return f'is a truncated PNG ({size} bytes, no IEND chunk at the end)'
    if head.startswith(b'\xff\xd8') and b'\xff\xd9' not in tail:
        return (f'is a truncated JPEG ({size} bytes, no end-of-image marker '
                'at the end)')
    return None


def image_bytes_problem(data):
    """What is wrong with the bytes of an image file that a decoder might
    not say: empty, or a PNG/JPEG cut short. None if nothing is seen.
    Looks at the first and last bytes only (no copy, no decoding)."""
    if len(data) == 0:
        return 'is empty (0 bytes)'
    return _ends_problem(len(data), bytes(data[:_HEAD]),
                         bytes(data[-_TAIL:]))


def image_file_problem(path):
    """:func:`image_bytes_problem` of the local file ``path``, reading only
    its ends, or ``'does not exist'``. None if nothing is seen (or ``path``
    is not a local file, e.g. on a remote backend)."""
    if not isinstance(path, (str, os.PathLike)) or '://' in str(path):
        return None
    problem, head, tail = read_ends(path, head=_HEAD, tail=_TAIL)
    if problem is not None:
        return problem
    return _ends_problem(osp.getsize(path), head, tail)


def decode_problem(err=None):
    """Why decoding failed: with the decoder's exception, or None where the
    decoder returned None."""
    if err is None:
        return 'cannot be decoded as an image (corrupt?)'
    return f'cannot be decoded as an image ({type(err).__name__}: {err})'


def label_problem(gt, results, num_classes=None):
    """What is wrong with the label map ``gt`` of the sample ``results``:
    a size other than its image's, or values outside ``0 .. num_classes -
    1`` other than 255 (mmseg's ignore index). ``num_classes`` None skips
    the value check."""
    seg_path = results['seg_map_path']
    shape = results.get('ori_shape', results.get('img_shape'))
    if shape is not None and tuple(gt.shape[:2]) != tuple(shape[:2]):
        return (f'label map {seg_path} is {gt.shape[1]}x{gt.shape[0]} '
                f'(WxH), but its image {results.get("img_path")} is '
                f'{shape[1]}x{shape[0]}')
    if num_classes is None:
        return None
    # the loader's hot path: a max, and where it is the ignore index two
    # counts; the values are listed only for a map that fails
    top = gt.max() if gt.size else 0
    if top < num_classes or (
            top == SEG_IGNORE_INDEX and np.count_nonzero(gt >= num_classes)
            == np.count_nonzero(gt == SEG_IGNORE_INDEX)):
        return None
    bad = np.unique(gt[(gt >= num_classes) & (gt != SEG_IGNORE_INDEX)])
    if bad.size:
        return (f'label map {seg_path} has label value(s) '
                f'{bad[:10].tolist()} outside the {num_classes} classes '
                f'(0..{num_classes - 1}, or {SEG_IGNORE_INDEX} to ignore)'
                + (' after reduce_zero_label'
                   if results.get('reduce_zero_label') else ''))
    return None


def segmentation_problem(segmentation):
    """What is wrong with a COCO ``segmentation`` (polygons or RLE), or
    None."""
    if isinstance(segmentation, dict):
        if 'counts' not in segmentation or 'size' not in segmentation:
            return ('an RLE segmentation needs "counts" and "size", it has '
                    f'{sorted(segmentation)}')
        return None
    if not isinstance(segmentation, (list, tuple)):
        return (f'segmentation is a {type(segmentation).__name__}; expected '
                'a list of polygons or an RLE dict')
    for k, polygon in enumerate(segmentation):
        if not isinstance(polygon, (list, tuple)):
            return (f'polygon {k} is a {type(polygon).__name__}; expected a '
                    'list of numbers x1, y1, x2, y2, ...')
        if len(polygon) % 2 or len(polygon) < 6:
            return (f'polygon {k} has {len(polygon)} coordinates; expected '
                    'an even number, at least 6 (3 points)')
        if not all(isinstance(v, (int, float)) and math.isfinite(v)
                   for v in polygon):
            return f'polygon {k} has a value that is not a finite number'
    return None
