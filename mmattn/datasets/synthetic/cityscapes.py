"""The Cityscapes-layout writer."""
import os
import os.path as osp

import numpy as np
from PIL import Image

from .meta import finish_dataset, _marker_cue, _record, start_dataset
from .scene import _image_rng, _make_scene
from .tables import (CITYSCAPES_BACKGROUND, _CITYSCAPES_CITIES,
                     CITYSCAPES_CUE_CLASSES, _GROUPS, IGNORE_INDEX)


def make_cityscapes(out_dir,
                    num_train=8,
                    num_val=4,
                    size=(128, 256),
                    seed=0,
                    overwrite=False,
                    layout='side-bar',
                    margin=None,
                    label_cue_in_train=False,
                    cue_width=None):
    """Write a small synthetic dataset in the Cityscapes layout.

    The layout is what mmseg's ``CityscapesDataset`` reads after the
    official ``tools/dataset_converters/cityscapes.py`` conversion::

        out_dir/
          leftImg8bit/{train,val}/<city>/<stem>_leftImg8bit.png
          gtFine/{train,val}/<city>/<stem>_gtFine_labelTrainIds.png
          synthetic_meta.json

    with ``<stem>`` = ``<city>_<seq:06d>_<frame:06d>`` as in the real
    dataset (cities aachen and bochum for train, frankfurt and lindau for
    val; the frame number is always 19).

    Images are 8-bit RGB PNGs, labels 8-bit single-channel (``'L'``) PNGs
    holding Cityscapes train ids: 0 (road) for the background, the ids in
    :data:`CITYSCAPES_CUE_CLASSES` for shapes and 255 for ignored pixels
    (shape outlines and the markers).

    Args:
        out_dir (str): Dataset root; created if missing.
        num_train (int): Number of training images. Default: 8.
        num_val (int): Number of validation images. Default: 4.
        size (tuple[int, int]): ``(height, width)``, each in [48, 4096].
            Default: ``(128, 256)``.
        seed (int): Non-negative seed; the same seed gives byte-identical
            files. Default: 0.
        overwrite (bool): Replace earlier generated data in ``out_dir``.
            Default: False.
        layout (str): Where the cue is and what it decides: ``'side-bar'``
            (one bar at the left or right edge; its colour is the class of
            every shape) or ``'corners'`` (top markers decide the angular
            shapes, bottom markers the round ones). Default: ``'side-bar'``.
        margin (int, optional): Least distance in pixels between a shape
            and a cue (see ``docs/synthetic_data.md`` for the defaults).
        label_cue_in_train (bool): In the *train* split, label the cue's
            pixels with the class its colour stands for instead of 255, so
            that the colour-to-class mapping is supervised where it is
            local; validation labels always ignore the cue, so what is
            scored is only whether that class reaches the far shapes.
            Default: False.
        cue_width (int, optional): Width in pixels of the side bar (see
            ``docs/synthetic_data.md`` for the default).

    Returns:
        dict: Summary with ``format``, ``out_dir``, ``size``, ``seed``,
        ``num_images`` (dict split -> count), ``class_ids`` (sorted train ids
        that can appear besides 255) and ``meta_file`` (path of the
        per-image records).
    """
    h, w, meta = start_dataset(
        'cityscapes', out_dir, ['leftImg8bit', 'gtFine'], size, num_train,
        num_val, seed, layout, margin, CITYSCAPES_CUE_CLASSES, overwrite,
        cue_width)
    meta['background_class'] = CITYSCAPES_BACKGROUND
    meta['label_cue_in_train'] = bool(label_cue_in_train)
    meta['splits'] = {}
    for split, count in (('train', num_train), ('val', num_val)):
        cities = _CITYSCAPES_CITIES[split]
        records = []
        for index in range(count):
            # Round-robin over cities; sequence numbers count per city and
            # the frame number is the one used by real gtFine frames.
            city = cities[index % len(cities)]
            stem = f'{city}_{index // len(cities):06d}_{19:06d}'
            img_dir = osp.join(out_dir, 'leftImg8bit', split, city)
            ann_dir = osp.join(out_dir, 'gtFine', split, city)
            os.makedirs(img_dir, exist_ok=True)
            os.makedirs(ann_dir, exist_ok=True)

            scene = _make_scene(
                _image_rng('cityscapes', seed, split, index), h, w, layout,
                margin, cue_width)
            label = _label_map(scene, h, w,
                               label_cue_in_train and split == 'train')
            img_file = osp.join(img_dir, f'{stem}_leftImg8bit.png')
            ann_file = osp.join(ann_dir, f'{stem}_gtFine_labelTrainIds.png')
            Image.fromarray(scene['image']).save(img_file)
            Image.fromarray(label).save(ann_file)
            records.append(
                _record(
                    scene, CITYSCAPES_CUE_CLASSES,
                    img_path=osp.relpath(img_file, out_dir),
                    seg_map_path=osp.relpath(ann_file, out_dir)))
        meta['splits'][split] = records
    return finish_dataset(
        out_dir, meta, num_train, num_val,
        class_ids=sorted({CITYSCAPES_BACKGROUND, *CITYSCAPES_CUE_CLASSES}))


def _label_map(scene, h, w, scored_cue):
    """The train-id label of ``scene``: background, each shape's cue class,
    255 on outlines, and on the cue unless ``scored_cue``."""
    cue_cls = {g: CITYSCAPES_CUE_CLASSES[scene['cues'][g]] for g in _GROUPS}
    label = np.full((h, w), CITYSCAPES_BACKGROUND, dtype=np.uint8)
    for shape in scene['shapes']:
        label[shape['mask']] = cue_cls[shape['group']]
        # Outlines are ignored: they are a boundary cue only and the exact
        # border pixel is not what the benchmark measures.
        label[shape['outline']] = IGNORE_INDEX
    for name, (x0, y0, x1, y1) in scene['markers'].items():
        # Not scored in validation: the cue is given, not predicted.
        label[y0:y1, x0:x1] = IGNORE_INDEX if not scored_cue else \
            CITYSCAPES_CUE_CLASSES[_marker_cue(scene, name)]
    return label
