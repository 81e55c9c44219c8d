"""Dataset utilities of mmattn (plain data generation, no mmseg/mmdet)."""
from .synthetic import (CITYSCAPES_CLASSES, CITYSCAPES_CUE_CLASSES,
                        COCO_CATEGORIES, COCO_CUE_CATEGORIES, IGNORE_INDEX,
                        LAYOUTS, MARKER_PALETTE, META_FILE, decode_marker,
                        make_cityscapes, make_coco, parse_size, repaint_cues,
                        synthetic_image)

__all__ = [
    'CITYSCAPES_CLASSES', 'CITYSCAPES_CUE_CLASSES', 'COCO_CATEGORIES',
    'COCO_CUE_CATEGORIES', 'IGNORE_INDEX', 'LAYOUTS', 'MARKER_PALETTE',
    'META_FILE', 'decode_marker', 'make_cityscapes', 'make_coco',
    'parse_size', 'repaint_cues', 'synthetic_image'
]
