"""The fixed tables of the synthetic datasets: cue layouts and colours, the
Cityscapes classes and COCO categories the cues stand for, appearance and
stream keys."""
import numpy as np
#: Cue layouts (see the module docstring); the first is the default.
LAYOUTS = ('side-bar', 'corners')

#: Label value of pixels that are not scored (shape outlines, markers).
IGNORE_INDEX = 255

#: Name of the side file with generation parameters and per-image records.
#: It lies in the output root, outside every folder a dataset class scans.
META_FILE = 'synthetic_meta.json'

#: Marker colours (RGB). Every pair differs by >= 127 in some channel so
#: that the colour survives JPEG compression and can be decoded by nearest
#: neighbour.
MARKER_PALETTE = (
    (255, 0, 0),  # 0 red
    (0, 255, 0),  # 1 green
    (0, 0, 255),  # 2 blue
    (255, 255, 0),  # 3 yellow
    (255, 0, 255),  # 4 magenta
    (0, 255, 255),  # 5 cyan
    (255, 128, 0),  # 6 orange
    (128, 0, 255),  # 7 purple
)

#: The 19 Cityscapes train ids, in train-id order (same as mmseg).
CITYSCAPES_CLASSES = ('road', 'sidewalk', 'building', 'wall', 'fence',
                      'pole', 'traffic light', 'traffic sign', 'vegetation',
                      'terrain', 'sky', 'person', 'rider', 'car', 'truck',
                      'bus', 'train', 'motorcycle', 'bicycle')


#: Cityscapes train id encoded by each marker colour (index = palette index).
CITYSCAPES_CUE_CLASSES = (11, 8, 13, 7, 18, 10, 15, 2)

#: Train id of the background (everything that is no shape and no marker).
CITYSCAPES_BACKGROUND = 0  # road

#: The 80 COCO 2017 detection categories with their real ids and
#: supercategories. All of them are written to the annotation files, as in
#: the real ones, so that mmdet's stock 80-class ``CocoDataset`` maps
#: category ids to the usual label indices.
COCO_CATEGORIES = (
    (1, 'person', 'person'), (2, 'bicycle', 'vehicle'),
    (3, 'car', 'vehicle'), (4, 'motorcycle', 'vehicle'),
    (5, 'airplane', 'vehicle'), (6, 'bus', 'vehicle'),
    (7, 'train', 'vehicle'), (8, 'truck', 'vehicle'), (9, 'boat', 'vehicle'),
    (10, 'traffic light', 'outdoor'), (11, 'fire hydrant', 'outdoor'),
    (13, 'stop sign', 'outdoor'), (14, 'parking meter', 'outdoor'),
    (15, 'bench', 'outdoor'), (16, 'bird', 'animal'), (17, 'cat', 'animal'),
    (18, 'dog', 'animal'), (19, 'horse', 'animal'), (20, 'sheep', 'animal'),
    (21, 'cow', 'animal'), (22, 'elephant', 'animal'), (23, 'bear', 'animal'),
    (24, 'zebra', 'animal'), (25, 'giraffe', 'animal'),
    (27, 'backpack', 'accessory'), (28, 'umbrella', 'accessory'),
    (31, 'handbag', 'accessory'), (32, 'tie', 'accessory'),
    (33, 'suitcase', 'accessory'), (34, 'frisbee', 'sports'),
    (35, 'skis', 'sports'), (36, 'snowboard', 'sports'),
    (37, 'sports ball', 'sports'), (38, 'kite', 'sports'),
    (39, 'baseball bat', 'sports'), (40, 'baseball glove', 'sports'),
    (41, 'skateboard', 'sports'), (42, 'surfboard', 'sports'),
    (43, 'tennis racket', 'sports'), (44, 'bottle', 'kitchen'),
    (46, 'wine glass', 'kitchen'), (47, 'cup', 'kitchen'),
    (48, 'fork', 'kitchen'), (49, 'knife', 'kitchen'),
    (50, 'spoon', 'kitchen'), (51, 'bowl', 'kitchen'),
    (52, 'banana', 'food'), (53, 'apple', 'food'), (54, 'sandwich', 'food'),
    (55, 'orange', 'food'), (56, 'broccoli', 'food'), (57, 'carrot', 'food'),
    (58, 'hot dog', 'food'), (59, 'pizza', 'food'), (60, 'donut', 'food'),
    (61, 'cake', 'food'), (62, 'chair', 'furniture'),
    (63, 'couch', 'furniture'), (64, 'potted plant', 'furniture'),
    (65, 'bed', 'furniture'), (67, 'dining table', 'furniture'),
    (70, 'toilet', 'furniture'), (72, 'tv', 'electronic'),
    (73, 'laptop', 'electronic'), (74, 'mouse', 'electronic'),
    (75, 'remote', 'electronic'), (76, 'keyboard', 'electronic'),
    (77, 'cell phone', 'electronic'), (78, 'microwave', 'appliance'),
    (79, 'oven', 'appliance'), (80, 'toaster', 'appliance'),
    (81, 'sink', 'appliance'), (82, 'refrigerator', 'appliance'),
    (84, 'book', 'indoor'), (85, 'clock', 'indoor'), (86, 'vase', 'indoor'),
    (87, 'scissors', 'indoor'), (88, 'teddy bear', 'indoor'),
    (89, 'hair drier', 'indoor'), (90, 'toothbrush', 'indoor'))


#: COCO category id encoded by each marker colour (index = palette index):
#: person, bicycle, car, stop sign, motorcycle, traffic light, bus, truck.
COCO_CUE_CATEGORIES = (1, 2, 3, 13, 4, 10, 6, 8)

#: ImageNet-1k class index encoded by each marker colour (palette index):
#: goldfish, great white shark, tree frog, king penguin, mountain bike,
#: fire engine, traffic light, volcano.
IMAGENET_CUE_CLASSES = (1, 2, 31, 145, 671, 555, 920, 980)

#: CIFAR-10 label encoded by each marker colour: airplane, automobile, bird,
#: cat, deer, dog, frog, horse (CIFAR-100: the same indices).
CIFAR_CUE_CLASSES = (0, 1, 2, 3, 4, 5, 6, 7)

# Which marker row drives which shape group, and which shapes form a group.
_GROUP_OF_KIND = {'rectangle': 'angular', 'triangle': 'angular',
                  'ellipse': 'round'}


_GROUPS = ('angular', 'round')  # angular <- top markers, round <- bottom

# Appearance shared by all shapes regardless of class (RGB). A local
# classifier sees the same colour family and texture for every class.
_SHAPE_RGB = np.array([175.0, 160.0, 135.0])

_OUTLINE_RGB = np.array([45.0, 45.0, 45.0])

_ELLIPSE_VERTICES = 32

_MIN_SIDE = 48  # below this the corner markers and margins leave no room

_MAX_SIDE = 4096  # a guard against typos such as 128x25600

# Fixed per-split stream keys so that train and val never share images and
# image ``i`` does not depend on how many images the split has.
_SPLIT_KEYS = {'train': 0, 'val': 1}

_FORMAT_KEYS = {'cityscapes': 0, 'coco': 1, 'imagenet': 2, 'cifar10': 3,
                'cifar100': 4}

_CITYSCAPES_CITIES = {'train': ('aachen', 'bochum'),
                      'val': ('frankfurt', 'lindau')}


def decode_marker(rgb):
    """Return the palette index of the marker colour nearest to ``rgb``.

    Args:
        rgb (array-like): One colour ``(r, g, b)``, e.g. the mean of the
            central pixels of a marker square (may be float, may carry JPEG
            noise).

    Returns:
        int: Index into :data:`MARKER_PALETTE`.
    """
    palette = np.asarray(MARKER_PALETTE, dtype=np.float64)
    dist = ((palette - np.asarray(rgb, dtype=np.float64))**2).sum(axis=1)
    return int(np.argmin(dist))
