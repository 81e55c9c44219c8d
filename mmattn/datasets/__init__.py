"""Dataset utilities of mmattn (plain data generation, no mmseg, mmdet or
mmpretrain)."""
from .synthetic import (CIFAR_CUE_CLASSES, CITYSCAPES_CLASSES,
                        CITYSCAPES_CUE_CLASSES, COCO_CATEGORIES,
                        COCO_CUE_CATEGORIES, IGNORE_INDEX,
                        IMAGENET_CUE_CLASSES, IMAGENET_CUE_WNIDS, LAYOUTS,
                        MARKER_PALETTE, META_FILE, decode_marker, make_cifar,
                        make_cityscapes, make_coco, make_imagenet, parse_size,
                        repaint_cues, synthetic_image)

__all__ = [
    'CITYSCAPES_CLASSES', 'CITYSCAPES_CUE_CLASSES', 'COCO_CATEGORIES',
    'COCO_CUE_CATEGORIES', 'IGNORE_INDEX', 'LAYOUTS', 'MARKER_PALETTE',
    'META_FILE', 'decode_marker', 'make_cityscapes', 'make_coco',
    'parse_size', 'repaint_cues', 'synthetic_image', 'make_imagenet',
    'make_cifar', 'IMAGENET_CUE_CLASSES', 'IMAGENET_CUE_WNIDS',
    'CIFAR_CUE_CLASSES'
]
