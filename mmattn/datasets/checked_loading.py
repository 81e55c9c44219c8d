"""Loaders that name bad data, selected by type in a config.

``mmattn.CheckedLoadImageFromFile``, ``mmattn.CheckedLoadAnnotations`` (mmseg's
label maps) and ``mmattn.CheckedCocoDataset`` are mmcv's, mmseg's and mmdet's
classes with the checks of :mod:`mmattn.datasets.data_checks`. Each reads a
file once: the bytes mmcv would decode are checked at their ends (an empty
file, a PNG without its ``IEND`` chunk, a JPEG without its end marker) before
they are decoded, so the checks cost no second read. A config selects them
like any transform::

    dict(type='mmattn.CheckedLoadImageFromFile'),
    dict(type='mmattn.CheckedLoadAnnotations', num_classes=19),

Each takes ``bad_data``: ``'error'`` raises :class:`BadDataError` naming the
file and what is wrong, ``'skip'`` logs a warning and drops the sample (the
pipeline returns None; mmengine fetches another one in training) or the
annotation; None (the default) follows the process's policy
(:func:`mmattn.datasets.data_checks.bad_data_policy`).

:mod:`mmattn.runtime` puts the same methods on the stock classes, for every
config without edits; the functions here are written to serve both.
"""
import functools
import os.path as osp

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmdet.datasets import CocoDataset
from mmengine import fileio
from mmseg.datasets.transforms import LoadAnnotations as SegLoadAnnotations

from ..checks import check_positive_int
from ..registry import DATASETS, TRANSFORMS
from .data_checks import (check_policy, decode_problem, image_bytes_problem,
                          label_problem, report, segmentation_problem)

__all__ = [
    'CheckedLoadImageFromFile', 'CheckedLoadAnnotations', 'CheckedCocoDataset',
    'SkipSample', 'load_image_checked', 'load_seg_map_checked',
    'skipping_transform', 'parse_coco_checked', 'with_num_classes',
    'checked_pipeline'
]


class SkipSample(Exception):
    """Raised inside a loader when its bad-data policy drops the sample;
    :func:`skipping_transform` turns it into the pipeline's None."""


def _read(loader, path):
    """``(bytes, problem)`` of ``path``, read as mmcv's loaders read it."""
    try:
        if getattr(loader, 'file_client_args', None) is not None:
            client = fileio.FileClient.infer_client(loader.file_client_args,
                                                    path)
            data = client.get(path)
        else:
            data = fileio.get(path, backend_args=loader.backend_args)
    except FileNotFoundError:
        return None, 'does not exist'
    except (OSError, ValueError) as err:
        return None, f'cannot be read ({type(err).__name__}: {err})'
    return data, image_bytes_problem(data)


def _decode(data, flag, backend):
    """``(image, problem)`` of the bytes ``data``."""
    try:
        img = mmcv.imfrombytes(data, flag=flag, backend=backend)
    except Exception as err:  # the decoders' own errors vary by backend
        return None, decode_problem(err)
    return img, (decode_problem() if img is None else None)


def load_image_checked(loader, results):
    """``transform`` of mmcv's ``LoadImageFromFile`` with the checks, for
    an instance of it or of :class:`CheckedLoadImageFromFile`.

    With mmcv's ``ignore_empty=True`` a bad image is dropped silently, as
    mmcv drops the ones it cannot read.
    """
    filename = results['img_path']
    data, problem = _read(loader, filename)
    if problem is None:
        img, problem = _decode(data, loader.color_type,
                               loader.imdecode_backend)
    if problem is not None:
        if not loader.ignore_empty:
            report(f'image {filename} {problem}',
                   getattr(loader, 'bad_data', None))
        return None
    if loader.to_float32:
        img = img.astype(np.float32)
    results['img'] = img
    results['img_shape'] = img.shape[:2]
    results['ori_shape'] = img.shape[:2]
    return results


def load_seg_map_checked(loader, results):
    """``_load_seg_map`` of mmseg's ``LoadAnnotations`` with the checks
    (the file, its size against the image's, its values against the
    classes), for an instance of it or of :class:`CheckedLoadAnnotations`.
    Raises :class:`SkipSample` where the policy skips."""
    seg_path = results['seg_map_path']
    policy = getattr(loader, 'bad_data', None)
    data, problem = _read(loader, seg_path)
    if problem is None:
        gt, problem = _decode(data, 'unchanged', loader.imdecode_backend)
    if problem is not None:
        report(f'label map {seg_path} {problem}', policy)
        raise SkipSample(seg_path)
    gt = gt.squeeze().astype(np.uint8)
    # mmseg's reduce_zero_label and label_map, as its own loader applies them
    if loader.reduce_zero_label is None:
        loader.reduce_zero_label = results['reduce_zero_label']
    if loader.reduce_zero_label != results['reduce_zero_label']:
        raise ValueError(
            f'LoadAnnotations has reduce_zero_label={loader.reduce_zero_label}'
            ' but the dataset gives reduce_zero_label='
            f'{results["reduce_zero_label"]}: set the same in both')
    if loader.reduce_zero_label:
        gt[gt == 0] = 255
        gt = gt - 1
        gt[gt == 254] = 255
    if results.get('label_map') is not None:
        original = gt.copy()
        for old_id, new_id in results['label_map'].items():
            gt[original == old_id] = new_id
    num_classes = getattr(loader, 'num_classes', None)
    if num_classes is None:
        num_classes = results.get('num_classes')
    problem = label_problem(gt, results, num_classes)
    if problem is not None:
        report(problem, policy)
        raise SkipSample(seg_path)
    results['gt_seg_map'] = gt
    results['seg_fields'].append('gt_seg_map')


def skipping_transform(transform):
    """``transform`` returning None where a loader raised
    :class:`SkipSample`."""

    @functools.wraps(transform)
    def checked(self, results):
        try:
            return transform(self, results)
        except SkipSample:
            return None

    return checked


@TRANSFORMS.register_module()
class CheckedLoadImageFromFile(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` that names a missing, empty, truncated
    or undecodable image (see the module docstring).

    Args:
        bad_data (str | None): ``'error'``, ``'skip'`` or None (the
            process's policy). Default: None.
        *args, **kwargs: mmcv's ``LoadImageFromFile`` arguments.
    """

    def __init__(self, *args, bad_data=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.bad_data = check_policy(bad_data)

    transform = load_image_checked


@TRANSFORMS.register_module()
class CheckedLoadAnnotations(SegLoadAnnotations):
    """mmseg's ``LoadAnnotations`` that names a missing, empty, truncated
    or undecodable label map, one of another size than its image, and label
    values outside the classes (other than 255, the ignore index).

    Args:
        num_classes (int | None): the dataset's number of classes, for the
            value check; None takes the sample's ``num_classes`` (which
            :mod:`mmattn.runtime` adds to mmseg's samples) or skips the
            value check. Default: None.
        bad_data (str | None): ``'error'``, ``'skip'`` or None (the
            process's policy). Default: None.
        *args, **kwargs: mmseg's ``LoadAnnotations`` arguments.
    """

    def __init__(self, *args, num_classes=None, bad_data=None, **kwargs):
        super().__init__(*args, **kwargs)
        check_positive_int('num_classes', num_classes, allow_none=True)
        self.num_classes = num_classes
        self.bad_data = check_policy(bad_data)

    _load_seg_map = load_seg_map_checked
    transform = skipping_transform(SegLoadAnnotations.transform)


def parse_coco_checked(parse_data_info):
    """mmdet ``CocoDataset.parse_data_info`` that names an image the json
    lists but the disk lacks, and malformed segmentations (dropped where
    the policy skips), naming the json, the image and the annotation id."""

    @functools.wraps(parse_data_info)
    def parse(self, raw_data_info):
        policy = getattr(self, 'bad_data', None)
        img_info = raw_data_info['raw_img_info']
        where = (f'{self.ann_file}: image id {img_info.get("img_id")} '
                 f'({img_info.get("file_name")})')
        img_path = osp.join(self.data_prefix.get('img', ''),
                            img_info['file_name'])
        if '://' not in img_path and not osp.isfile(img_path):
            # 'skip': kept here, skipped when the pipeline cannot read it
            report(f'{where} names image {img_path}, which does not exist',
                   policy)
        kept = []
        for ann in raw_data_info['raw_ann_info']:
            problem = (segmentation_problem(ann['segmentation'])
                       if ann.get('segmentation') else None)
            if problem is None:
                kept.append(ann)
            else:
                report(f'{where}, annotation id {ann.get("id")}: {problem}',
                       policy)
        raw_data_info = dict(raw_data_info, raw_ann_info=kept)
        return parse_data_info(self, raw_data_info)

    return parse


@DATASETS.register_module()
class CheckedCocoDataset(CocoDataset):
    """mmdet's ``CocoDataset`` that names, while it reads its json, an image
    missing from the disk and a malformed ``segmentation`` (a polygon with
    an odd number of coordinates, fewer than 3 points or non-finite values;
    an RLE without ``counts`` and ``size``).

    Args:
        bad_data (str | None): ``'error'``, ``'skip'`` (the annotation is
            dropped) or None (the process's policy). Default: None.
        *args, **kwargs: mmdet's ``CocoDataset`` arguments.
    """

    def __init__(self, *args, bad_data=None, **kwargs):
        self.bad_data = check_policy(bad_data)  # before the json is parsed
        super().__init__(*args, **kwargs)

    parse_data_info = parse_coco_checked(CocoDataset.parse_data_info)


def with_num_classes(get_data_info):
    """A dataset's ``get_data_info`` whose samples carry ``num_classes``
    (the length of its ``classes``), for the label-value check."""

    @functools.wraps(get_data_info)
    def get(self, idx):
        info = get_data_info(self, idx)
        # _metainfo, not the metainfo property: that deep-copies per sample
        info.setdefault('num_classes', len(self._metainfo['classes']))
        return info

    return get


def checked_pipeline(pipeline, num_classes=None):
    """A copy of ``pipeline`` (a list of transform dicts) that loads with
    the checked loaders: ``LoadImageFromFile`` becomes
    ``mmattn.CheckedLoadImageFromFile`` and, where ``num_classes`` is given
    (an mmseg pipeline), ``LoadAnnotations`` becomes
    ``mmattn.CheckedLoadAnnotations`` with it. mmdet's ``LoadAnnotations``
    has no checked twin: leave ``num_classes`` None for a detection
    pipeline (its checks are ``mmattn.CheckedCocoDataset``'s)."""
    steps = []
    for step in pipeline:
        step = dict(step)
        if step['type'] == 'LoadImageFromFile':
            step['type'] = 'mmattn.CheckedLoadImageFromFile'
        elif step['type'] == 'LoadAnnotations' and num_classes is not None:
            step.update(type='mmattn.CheckedLoadAnnotations',
                        num_classes=num_classes)
        steps.append(step)
    return steps
