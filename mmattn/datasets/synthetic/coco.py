"""The COCO-2017-instances-layout writer."""
import json
import os
import os.path as osp

from PIL import Image

from .meta import finish_dataset, _record, start_dataset
from .raster import _polygon_area
from .scene import _image_rng, _make_scene
from .tables import COCO_CATEGORIES, COCO_CUE_CATEGORIES


def make_coco(out_dir,
              num_train=4,
              num_val=2,
              size=(128, 128),
              seed=0,
              overwrite=False,
              layout='side-bar',
              margin=None,
              cue_width=None):
    """Write a small synthetic dataset in the COCO 2017 instance layout.

    The layout is what mmdet's ``CocoDataset`` and ``CocoMetric`` read::

        out_dir/
          annotations/instances_train2017.json
          annotations/instances_val2017.json
          train2017/<12-digit image id>.jpg
          val2017/<12-digit image id>.jpg
          synthetic_meta.json

    Each shape is one instance with a polygon ``segmentation``, its
    ``bbox`` ``[x, y, w, h]`` (tight around the polygon), ``area`` (polygon
    area) and ``iscrowd`` 0. ``categories`` lists all 80 COCO categories
    with their real ids; only those in :data:`COCO_CUE_CATEGORIES` are used.
    Image ids are unique over both splits (val continues after train).

    Args:
        out_dir (str): Dataset root; created if missing.
        num_train (int): Number of training images. Default: 4.
        num_val (int): Number of validation images. Default: 2.
        size (tuple[int, int]): ``(height, width)``, each in [48, 4096].
            Default: ``(128, 128)``.
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
        cue_width (int, optional): Width in pixels of the side bar.

    Returns:
        dict: Summary with ``format``, ``out_dir``, ``size``, ``seed``,
        ``num_images`` (dict split -> count), ``num_instances`` (dict split
        -> count), ``category_ids`` (sorted ids that are used) and
        ``meta_file``.
    """
    h, w, meta = start_dataset(
        'coco', out_dir, ['annotations/instances_train2017.json',
                          'annotations/instances_val2017.json', 'train2017',
                          'val2017'], size, num_train, num_val, seed, layout,
        margin, COCO_CUE_CATEGORIES, overwrite, cue_width)
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)

    categories = [dict(id=cid, name=name, supercategory=sup)
                  for cid, name, sup in COCO_CATEGORIES]
    meta['splits'] = {}
    num_instances = {}
    next_image_id = 1
    for split, count in (('train', num_train), ('val', num_val)):
        img_dir = osp.join(out_dir, f'{split}2017')
        os.makedirs(img_dir, exist_ok=True)
        images, annotations, records = [], [], []
        for index in range(count):
            image_id = next_image_id
            next_image_id += 1
            file_name = f'{image_id:012d}.jpg'
            scene = _make_scene(_image_rng('coco', seed, split, index), h, w,
                                layout, margin, cue_width)
            # 4:4:4 chroma and high quality keep marker colours and shape
            # edges faithful; Pillow's encoder is deterministic.
            Image.fromarray(scene['image']).save(
                osp.join(img_dir, file_name), quality=95, subsampling=0)
            images.append(
                dict(id=image_id, file_name=file_name, height=h, width=w))
            annotations += _annotations(scene, image_id,
                                        len(annotations) + 1)
            records.append(
                _record(
                    scene, COCO_CUE_CATEGORIES, image_id=image_id,
                    file_name=file_name))
        with open(osp.join(out_dir, 'annotations',
                           f'instances_{split}2017.json'), 'w') as f:
            json.dump(_coco_json(images, annotations, categories), f)
        meta['splits'][split] = records
        num_instances[split] = len(annotations)
    return finish_dataset(
        out_dir, meta, num_train, num_val, num_instances=num_instances,
        category_ids=sorted(set(COCO_CUE_CATEGORIES)))


def _annotations(scene, image_id, first_id):
    """One COCO instance per shape of ``scene``: polygon, tight bbox,
    polygon area; ids from ``first_id`` on."""
    annotations = []
    for shape in scene['shapes']:
        poly = shape['polygon']
        x_min, y_min = poly.min(axis=0)
        x_max, y_max = poly.max(axis=0)
        annotations.append(
            dict(
                id=first_id + len(annotations),
                image_id=image_id,
                category_id=COCO_CUE_CATEGORIES[scene['cues'][
                    shape['group']]],
                segmentation=[[float(v) for v in poly.ravel()]],
                area=round(_polygon_area(poly), 2),
                bbox=[
                    float(x_min),
                    float(y_min),
                    round(float(x_max - x_min), 2),
                    round(float(y_max - y_min), 2)
                ],
                iscrowd=0))
    return annotations


def _coco_json(images, annotations, categories):
    """The annotation file of one split, as the real ones are laid out."""
    return dict(
        info=dict(
            description='mmattn synthetic long-range-context benchmark',
            version='1.0',
            year=2017,
            contributor='mmattn',
            url=''),
        licenses=[],
        images=images,
        annotations=annotations,
        categories=categories)
