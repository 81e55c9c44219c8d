"""Small synthetic datasets in the on-disk layouts of Cityscapes and COCO.

The scenes form a *long-range-context* benchmark: every image shows a
textured background, a few shapes that all look alike locally and a
coloured cue far away from them. The class of a shape is not written in its
own pixels; it is decided by the colour of the cue. Two layouts:

* ``'side-bar'`` (the default, and the benchmark's): one solid bar over the
  whole height at the left *or* the right edge (random side); its colour is
  the class of every shape in the image. No shape comes within ``margin``
  pixels of the bar, so a model whose receptive field is narrower than the
  margin cannot see the cue from any shape: by construction, not by hope.
* ``'corners'`` (the first version): four corner squares; the two **top**
  markers give the class of every *angular* shape (rectangle, triangle), the
  two **bottom** markers that of every *round* shape (ellipse). Harder: a
  model must also tell the shape's group to pick the right marker pair.

Both layouts are left-right symmetric in their rule, so a horizontal flip
(the stock augmentation of mmseg and mmdet) keeps the labels valid; a
vertical flip would swap the corner groups.

Only numpy, Pillow and the standard library are used here: this package is
plain data generation and must not depend on mmseg or mmdet. See
``docs/synthetic_data.md`` for the full rules and a worked example.

Modules: ``tables`` (layouts, colours, classes and categories),
``geometry`` (sizes, cue boxes, margins), ``raster`` (polygons and masks),
``scene`` (one image: cues, shapes, paint; ``repaint_cues``), ``meta`` (the
output folder and meta file both writers share), ``cityscapes`` and
``coco`` (the two writers); ``classification`` writes the same scenes as
ImageNet and CIFAR classification sets (label: the bar's colour).
"""
from .cityscapes import make_cityscapes
from .classification import IMAGENET_CUE_WNIDS, make_cifar, make_imagenet
from .coco import make_coco
from .geometry import parse_size
from .scene import repaint_cues, synthetic_image
from .tables import (CIFAR_CUE_CLASSES, CITYSCAPES_CLASSES,
                     CITYSCAPES_CUE_CLASSES, COCO_CATEGORIES,
                     COCO_CUE_CATEGORIES, IGNORE_INDEX, IMAGENET_CUE_CLASSES,
                     LAYOUTS, MARKER_PALETTE, META_FILE, decode_marker)

__all__ = [
    'CITYSCAPES_CLASSES', 'CITYSCAPES_CUE_CLASSES', 'COCO_CATEGORIES',
    'COCO_CUE_CATEGORIES', 'MARKER_PALETTE', 'IGNORE_INDEX', 'META_FILE',
    'LAYOUTS', 'decode_marker', 'make_cityscapes', 'make_coco', 'parse_size',
    'repaint_cues', 'synthetic_image', 'make_imagenet', 'make_cifar',
    'IMAGENET_CUE_CLASSES', 'IMAGENET_CUE_WNIDS', 'CIFAR_CUE_CLASSES'
]
