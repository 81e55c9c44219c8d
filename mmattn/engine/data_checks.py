"""Bad data gets a clear error naming the file, when it is read.

Stock mmcv/mmseg/mmdet loading lets bad files through or fails far away:
mmcv decodes a truncated JPEG into an image with a grey bottom, returns
``None`` for an undecodable PNG (an ``AssertionError`` or ``AttributeError``
follows) and raises an OpenCV assertion for an empty file; mmseg takes a
label map of the wrong size or with values beyond the classes, which
surface as a shape error or an index error deep inside the loss; mmdet drops
malformed COCO polygons without a word and finds a missing image only when
it reads it.

:func:`install_data_checks` (called when mmattn is imported) wraps the stock
loaders, so every config is covered without edits:

* mmcv ``LoadImageFromFile``: a missing, empty, undecodable or truncated
  (PNG without its ``IEND`` chunk, JPEG without its end marker) image.
* mmseg ``LoadAnnotations``: the same for the label map, a label map whose
  size differs from its image, and label values outside ``0 ..
  num_classes - 1`` other than 255 (mmseg's ignore index), after
  ``reduce_zero_label`` and ``label_map`` are applied.
* mmdet ``CocoDataset``: while the json is parsed, an image it names that
  does not exist and a malformed ``segmentation`` (a polygon with an odd
  number of coordinates, fewer than 3 points or non-finite values; an RLE
  without ``counts`` and ``size``), naming the json, the image and the
  annotation id.

Each raises :class:`BadDataError` (a ``ValueError``) naming the file and what
is wrong. With the policy ``'skip'`` (config key ``bad_data = 'skip'``, read
by ``tools/train.py``, or the environment variable ``MMATTN_BAD_DATA=skip``)
each is logged as a warning instead and skipped: an unreadable training
sample is replaced by another one (mmengine re-fetches when a pipeline
returns None; a test-mode dataset cannot skip and raises), a malformed
annotation is dropped from its image.
"""
import functools
import logging
import math
import os
import os.path as osp

import numpy as np
from mmengine.logging import print_log

from .files import read_ends

#: Environment variable holding the bad-data policy ('error' or 'skip'),
#: so that data-loader worker processes see it too.
POLICY_VARIABLE = 'MMATTN_BAD_DATA'
POLICIES = ('error', 'skip')
#: mmseg's ignore index: the only label value allowed beyond the classes.
SEG_IGNORE_INDEX = 255


class BadDataError(ValueError):
    """A data file (image, label map, annotation file) is unusable."""


def bad_data_policy():
    """'error' (default) or 'skip', from ``MMATTN_BAD_DATA``."""
    policy = os.environ.get(POLICY_VARIABLE, 'error')
    if policy not in POLICIES:
        raise ValueError(f'{POLICY_VARIABLE}={policy!r}: expected one of '
                         f'{POLICIES}')
    return policy


def set_bad_data_policy(policy):
    """Set the policy for this process and the ones it starts."""
    if policy not in POLICIES:
        raise ValueError(f'bad_data={policy!r}: expected one of {POLICIES}')
    os.environ[POLICY_VARIABLE] = policy


def _report(message):
    """Raise, or warn and return True (skip), by the policy."""
    if bad_data_policy() == 'error':
        raise BadDataError(message)
    print_log(f'skipping bad data: {message}', logger='current',
              level=logging.WARNING)
    return True


def image_file_problem(path):
    """What is wrong with the image file ``path`` that a decoder might not
    say: missing, empty, or a PNG/JPEG cut short. None if nothing is seen
    (or ``path`` is not a local file, e.g. on a remote backend)."""
    if not isinstance(path, (str, os.PathLike)) or '://' in str(path):
        return None
    problem, head, tail = read_ends(path)
    if problem is not None:
        return problem
    size = osp.getsize(path)
    if head.startswith(b'\x89PNG\r\n\x1a\n') and b'IEND' not in tail:
        return f'is a truncated PNG ({size} bytes, no IEND chunk at the end)'
    if head.startswith(b'\xff\xd8') and b'\xff\xd9' not in tail:
        return (f'is a truncated JPEG ({size} bytes, no end-of-image marker '
                'at the end)')
    return None


def _read_problem(path, err):
    """Why reading ``path`` failed with ``err``."""
    problem = image_file_problem(path)
    if problem is not None:
        return problem
    if err is None:
        return 'cannot be decoded as an image (corrupt?)'
    return f'cannot be decoded as an image ({type(err).__name__}: {err})'


def _checked_load_image(transform):

    @functools.wraps(transform)
    def load(self, results):
        filename = results['img_path']
        try:
            out = transform(self, results)
        except Exception as err:  # mmcv's own failures, without the cause
            if self.ignore_empty:  # mmcv's switch: skip silently, as before
                return None
            if _report(f'image {filename} {_read_problem(filename, err)}'):
                return None
            raise  # pragma: no cover - _report raised
        if out is None:
            return None
        problem = image_file_problem(filename)  # truncated but decoded
        if problem is not None and _report(f'image {filename} {problem}'):
            return None
        return out

    return load


def _label_problem(gt, results):
    seg_path = results['seg_map_path']
    shape = results.get('ori_shape', results.get('img_shape'))
    if shape is not None and tuple(gt.shape[:2]) != tuple(shape[:2]):
        return (f'label map {seg_path} is {gt.shape[1]}x{gt.shape[0]} '
                f'(WxH), but its image {results.get("img_path")} is '
                f'{shape[1]}x{shape[0]}')
    num_classes = results.get('num_classes')
    if num_classes is None:
        return None
    if gt.dtype == np.uint8:  # mmseg's label maps: O(HW), not a sort
        values = np.flatnonzero(np.bincount(gt.ravel(), minlength=256))
    else:
        values = np.unique(gt)
    bad = values[(values >= num_classes) & (values != SEG_IGNORE_INDEX)]
    if bad.size:
        return (f'label map {seg_path} has label value(s) '
                f'{bad[:10].tolist()} outside the {num_classes} classes '
                f'(0..{num_classes - 1}, or {SEG_IGNORE_INDEX} to ignore)'
                + (' after reduce_zero_label'
                   if results.get('reduce_zero_label') else ''))
    return None


def _checked_load_annotations(transform):

    @functools.wraps(transform)
    def load(self, results):
        seg_path = results['seg_map_path']
        problem = image_file_problem(seg_path)
        if problem is not None:
            problem = f'label map {seg_path} {problem}'
        else:
            try:  # mmseg's LoadAnnotations loads the label map only
                results = transform(self, results)
            except Exception as err:
                problem = (f'label map {seg_path} '
                           f'{_read_problem(seg_path, err)}')
            else:
                problem = _label_problem(results['gt_seg_map'], results)
        if problem is not None and _report(problem):
            return None  # skipped (policy 'skip'); 'error' raised already
        return results

    return load


def _with_num_classes(get_data_info):

    @functools.wraps(get_data_info)
    def get(self, idx):
        info = get_data_info(self, idx)
        info.setdefault('num_classes', len(self.metainfo['classes']))
        return info

    return get


def _segmentation_problem(segmentation):
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


def _checked_parse_coco(parse_data_info):

    @functools.wraps(parse_data_info)
    def parse(self, raw_data_info):
        img_info = raw_data_info['raw_img_info']
        where = (f'{self.ann_file}: image id {img_info.get("img_id")} '
                 f'({img_info.get("file_name")})')
        img_path = osp.join(self.data_prefix.get('img', ''),
                            img_info['file_name'])
        if '://' not in img_path and not osp.isfile(img_path):
            # 'skip': kept here, skipped when the pipeline cannot read it
            _report(f'{where} names image {img_path}, which does not exist')
        kept = []
        for ann in raw_data_info['raw_ann_info']:
            problem = (_segmentation_problem(ann['segmentation'])
                       if ann.get('segmentation') else None)
            if problem is None:
                kept.append(ann)
            else:
                _report(f'{where}, annotation id {ann.get("id")}: {problem}')
        raw_data_info = dict(raw_data_info, raw_ann_info=kept)
        return parse_data_info(self, raw_data_info)

    return parse


def _wrap_once(cls, name, wrapper):
    method = getattr(cls, name)  # the class's own or an inherited one
    if not getattr(method, '_mmattn_checked', False):
        checked = wrapper(method)
        checked._mmattn_checked = True
        setattr(cls, name, checked)


def install_data_checks():
    """Wrap the stock loaders (see the module docstring). Idempotent."""
    from mmcv.transforms import LoadImageFromFile
    _wrap_once(LoadImageFromFile, 'transform', _checked_load_image)
    try:
        from mmseg.datasets import BaseSegDataset
        from mmseg.datasets.transforms import LoadAnnotations
    except ImportError:  # pragma: no cover - mmseg is part of the stack
        pass
    else:
        _wrap_once(LoadAnnotations, 'transform', _checked_load_annotations)
        from mmengine.dataset import BaseDataset
        if 'get_data_info' not in BaseSegDataset.__dict__:
            BaseSegDataset.get_data_info = _with_num_classes(
                BaseDataset.get_data_info)
            BaseSegDataset.get_data_info._mmattn_checked = True
    try:
        from mmdet.datasets import CocoDataset
    except ImportError:  # pragma: no cover - mmdet is part of the stack
        return
    _wrap_once(CocoDataset, 'parse_data_info', _checked_parse_coco)
