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

Only numpy, Pillow and the standard library are used here: this module is
plain data generation and must not depend on mmseg or mmdet. See
``docs/synthetic_data.md`` for the full rules and a worked example.
"""
import json
import os
import os.path as osp
import re
import shutil

import numpy as np
from PIL import Image

__all__ = [
    'CITYSCAPES_CLASSES', 'CITYSCAPES_CUE_CLASSES', 'COCO_CATEGORIES',
    'COCO_CUE_CATEGORIES', 'MARKER_PALETTE', 'IGNORE_INDEX', 'META_FILE',
    'LAYOUTS', 'decode_marker', 'make_cityscapes', 'make_coco', 'parse_size',
    'repaint_cues'
]

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
_FORMAT_KEYS = {'cityscapes': 0, 'coco': 1}

_CITYSCAPES_CITIES = {'train': ('aachen', 'bochum'),
                      'val': ('frankfurt', 'lindau')}


def parse_size(text):
    """Parse a ``HxW`` size string strictly.

    Args:
        text (str): Height and width as two positive decimal integers joined
            by a lower-case ``x``, e.g. ``'128x256'``. No spaces, signs or
            other separators are accepted.

    Returns:
        tuple[int, int]: ``(height, width)``.

    Raises:
        ValueError: If ``text`` is malformed or a side is outside
            ``[48, 4096]``.
    """
    match = re.fullmatch(r'([0-9]+)x([0-9]+)', str(text))
    if match is None:
        raise ValueError(f'expected HxW such as 128x256, got {text!r}')
    size = (int(match.group(1)), int(match.group(2)))
    _check_size(size)
    return size


def _check_size(size):
    """Raise ``ValueError`` unless ``size`` is a valid ``(h, w)`` pair."""
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(s, (int, np.integer)) for s in size)):
        raise ValueError(f'size must be a pair of ints (h, w), got {size!r}')
    for side in size:
        if not _MIN_SIDE <= side <= _MAX_SIDE:
            raise ValueError(f'each side of size must lie in [{_MIN_SIDE}, '
                             f'{_MAX_SIDE}], got {tuple(size)}')


def _check_count(name, value):
    """Raise ``ValueError`` unless ``value`` is a non-negative int."""
    if not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f'{name} must be a non-negative int, got {value!r}')


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


def _check_layout(layout):
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')


def _geometry(h, w, layout='side-bar', margin=None):
    """Cue boxes, shape-to-cue margin and outline width of an image.

    Args:
        h (int): Image height.
        w (int): Image width.
        layout (str): ``'side-bar'`` or ``'corners'`` (see the module
            docstring).
        margin (int, optional): Least Chebyshev distance in pixels between
            a shape and a cue. Default: 40 % of the width left beside the
            bar (``'side-bar'``), a quarter of the short side (``'corners'``).

    Returns:
        dict: ``layout``, ``marker_side`` (int: bar width, or square side),
        ``margin`` (int), ``outline`` (int, width of the ignored outline) and
        ``markers``: a dict from cue name (``left``/``right`` for the bar,
        ``top_left`` ... for the corners) to the box ``[x0, y0, x1, y1]``
        (exclusive ends) a cue may occupy.

    Raises:
        ValueError: If ``layout`` is unknown or ``margin`` leaves no room
            for shapes.
    """
    _check_layout(layout)
    short = min(h, w)
    outline = max(1, short // 128)
    if layout == 'corners':
        side = max(4, short // 8)
        markers = dict(
            top_left=[0, 0, side, side],
            top_right=[w - side, 0, w, side],
            bottom_left=[0, h - side, side, h],
            bottom_right=[w - side, h - side, w, h])
        default_margin = max(8, short // 4)
    else:
        # A bar over the whole height: a large, unmistakable cue whose
        # distance to every shape is the horizontal gap alone.
        side = max(4, short // 6)
        markers = dict(left=[0, 0, side, h], right=[w - side, 0, w, h])
        default_margin = max(8, int(0.4 * (w - side)))
    if margin is None:
        margin = default_margin
    if (not isinstance(margin, (int, np.integer))
            or isinstance(margin, bool) or margin < 0):
        raise ValueError(f'margin must be a non-negative int, got {margin!r}')
    if layout == 'side-bar' and w - side - margin < max(16, h // 3):
        raise ValueError(
            f'margin={margin} leaves {w - side - margin} px of the {w} px '
            f'width beside the {side} px cue bar; shapes need at least '
            f'{max(16, h // 3)}: use a smaller margin or a wider image')
    return dict(layout=layout, marker_side=side, margin=int(margin),
                outline=outline, markers=markers)


def _rasterize(poly, h, w):
    """Fill a polygon into a boolean mask with the COCO pixel convention.

    A pixel ``(row, col)`` belongs to the polygon when its centre
    ``(col + 0.5, row + 0.5)`` lies inside (even-odd rule). This agrees with
    pycocotools' ``frPyObjects`` up to about one pixel along the border,
    which keeps the pixels drawn into the image consistent with the masks
    that mmdet decodes from the json.

    Args:
        poly (np.ndarray): ``(N, 2)`` vertices as ``(x, y)``.
        h (int): Mask height.
        w (int): Mask width.

    Returns:
        np.ndarray: ``(h, w)`` bool mask.
    """
    mask = np.zeros((h, w), dtype=bool)
    # Only the bounding window can contain pixels; this keeps the cost
    # proportional to the shape, not the image.
    x0 = max(0, int(np.floor(poly[:, 0].min())))
    x1 = min(w, int(np.ceil(poly[:, 0].max())) + 1)
    y0 = max(0, int(np.floor(poly[:, 1].min())))
    y1 = min(h, int(np.ceil(poly[:, 1].max())) + 1)
    if x0 >= x1 or y0 >= y1:
        return mask
    xs, ys = np.meshgrid(
        np.arange(x0, x1) + 0.5, np.arange(y0, y1) + 0.5, indexing='xy')
    inside = np.zeros(xs.shape, dtype=bool)
    nxt = np.roll(poly, -1, axis=0)
    for (ax, ay), (bx, by) in zip(poly, nxt):
        if ay == by:
            continue  # horizontal edges never cross a scan line
        crosses = (ay > ys) != (by > ys)
        x_cross = ax + (ys - ay) * (bx - ax) / (by - ay)
        inside ^= crosses & (xs < x_cross)
    mask[y0:y1, x0:x1] = inside
    return mask


def _dilate(mask, radius):
    """Square (Chebyshev) dilation of a bool mask by ``radius`` pixels."""
    if radius <= 0:
        return mask.copy()
    out = mask.copy()
    # Separable max filter: rows first, then columns.
    for axis in (0, 1):
        src = out.copy()
        for step in range(1, radius + 1):
            if axis == 0:
                out[step:] |= src[:-step]
                out[:-step] |= src[step:]
            else:
                out[:, step:] |= src[:, :-step]
                out[:, :-step] |= src[:, step:]
    return out


def _erode(mask, radius):
    """Square erosion; pixels outside the image count as background."""
    padded = np.pad(~mask, radius, constant_values=True)
    return ~_dilate(padded, radius)[radius:-radius or None,
                                    radius:-radius or None]


def _polygon_area(poly):
    """Shoelace area of a simple polygon given as ``(N, 2)`` vertices."""
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) -
                           np.dot(y, np.roll(x, -1))))


def _random_polygon(rng, kind, cx, cy, radius):
    """Vertices of one convex shape.

    Args:
        rng (np.random.Generator): Random stream.
        kind (str): ``'rectangle'``, ``'triangle'`` or ``'ellipse'``.
        cx (float): Centre x.
        cy (float): Centre y.
        radius (float): Rough half extent of the shape.

    Returns:
        np.ndarray: ``(N, 2)`` float vertices (``x, y``) rounded to 0.01 px,
        the precision written to json, so that image, label and json agree.
    """
    if kind == 'triangle':
        start = rng.uniform(0, 2 * np.pi)
        # Jittered equilateral triangle: never degenerate, always convex.
        angles = start + np.arange(3) * 2 * np.pi / 3 + rng.uniform(
            -0.3, 0.3, 3)
        radii = radius * rng.uniform(0.85, 1.0, 3)
        pts = np.stack([radii * np.cos(angles), radii * np.sin(angles)], 1)
    else:
        half_a = radius * rng.uniform(0.55, 1.0)
        half_b = radius * rng.uniform(0.55, 1.0)
        if kind == 'rectangle':
            pts = np.array([[-half_a, -half_b], [half_a, -half_b],
                            [half_a, half_b], [-half_a, half_b]])
        else:
            t = np.arange(_ELLIPSE_VERTICES) * 2 * np.pi / _ELLIPSE_VERTICES
            pts = np.stack([half_a * np.cos(t), half_b * np.sin(t)], 1)
        theta = rng.uniform(0, np.pi)
        rot = np.array([[np.cos(theta), -np.sin(theta)],
                        [np.sin(theta), np.cos(theta)]])
        pts = pts @ rot.T
    return np.round(pts + np.array([cx, cy]), 2)


def _image_rng(fmt, seed, split, index):
    """Independent random stream for one image (stable under count changes)."""
    seq = np.random.SeedSequence(
        [int(seed), _FORMAT_KEYS[fmt], _SPLIT_KEYS[split], int(index)])
    return np.random.default_rng(seq)


def _draw_cues(rng, geo):
    """Draw the cue colours and the cue boxes actually painted.

    Returns:
        tuple: ``cues`` (dict group -> palette index), ``markers`` (dict cue
        name -> box, the boxes painted in this image) and ``marker_cues``
        (dict cue name -> palette index).
    """
    if geo['layout'] == 'corners':
        cues = {g: int(rng.integers(len(MARKER_PALETTE))) for g in _GROUPS}
        markers = dict(geo['markers'])
        marker_cues = {
            name: cues['angular' if name.startswith('top') else 'round']
            for name in markers
        }
        return cues, markers, marker_cues
    # side-bar: one colour decides every shape; the side is random so that
    # position says nothing about the class and flips stay valid.
    cue = int(rng.integers(len(MARKER_PALETTE)))
    side = ('left', 'right')[int(rng.integers(2))]
    return ({g: cue for g in _GROUPS}, {side: geo['markers'][side]},
            {side: cue})


def _forbidden_zone(h, w, markers, margin):
    """Pixels no shape may cover: cues grown by ``margin``, image border."""
    forbidden = np.zeros((h, w), dtype=bool)
    for x0, y0, x1, y1 in markers.values():
        forbidden[max(0, y0 - margin):y1 + margin,
                  max(0, x0 - margin):x1 + margin] = True
    forbidden[:2] = forbidden[-2:] = True
    forbidden[:, :2] = forbidden[:, -2:] = True
    return forbidden


def _free_columns(forbidden):
    """``(x0, x1)``: the span of columns that have a free pixel."""
    cols = np.nonzero(~forbidden.all(axis=0))[0]
    return int(cols[0]), int(cols[-1]) + 1


def _draw_kinds(rng):
    """3-6 shape kinds, one of each group first so both groups occur."""
    num_shapes = int(rng.integers(3, 7))
    kinds = [str(rng.choice(['rectangle', 'triangle'])), 'ellipse']
    for _ in range(num_shapes - 2):
        kinds.append(str(rng.choice(['rectangle', 'triangle', 'ellipse'])))
    return kinds


def _place_shapes(rng, h, w, kinds, forbidden, geo):
    """Place non-overlapping shapes outside ``forbidden`` (updated in place).

    Centres are drawn over the whole width for ``'corners'`` and over the
    columns left free beside the bar for ``'side-bar'`` (most of the width
    is forbidden there; drawing over all of it would waste attempts).

    Returns:
        list[dict]: ``kind``, ``group``, ``polygon``, ``mask``, ``outline``.
    """
    x_lo, x_hi = (0, w) if geo['layout'] == 'corners' else \
        _free_columns(forbidden)
    short = min(h, x_hi - x_lo)
    gap = geo['outline'] + 2  # shapes never touch, or two would merge
    # Large enough to cover several cells of a stride-8 feature map, so that
    # shapes are a real share of the pixels (about a tenth), not noise.
    r_min, r_max = max(3.0, short / 9), max(4.0, short / 5)
    shapes = []
    for i, kind in enumerate(kinds):
        for attempt in range(300):
            # Shrink gradually so that crowded or tiny images still fit.
            radius = rng.uniform(r_min, r_max) * (1 - 0.5 * attempt / 300)
            cx = rng.uniform(x_lo + radius, x_hi - radius)
            cy = rng.uniform(radius, h - radius)
            poly = _random_polygon(rng, kind, cx, cy, radius)
            if (poly.min() < 1 or poly[:, 0].max() > w - 1
                    or poly[:, 1].max() > h - 1):
                continue
            mask = _rasterize(poly, h, w)
            interior = _erode(mask, geo['outline'])
            # Reject shapes that touch forbidden pixels or are too thin to
            # keep scored pixels inside their ignored outline; the vertex
            # mean must be such a pixel so that it can serve as a probe
            # point (it is written to the meta file as ``centroid``).
            px, py = (int(v) for v in poly.mean(axis=0))
            if (interior.sum() < 4 or not interior[py, px]
                    or (mask & forbidden).any()):
                continue
            shapes.append(
                dict(kind=kind, group=_GROUP_OF_KIND[kind], polygon=poly,
                     mask=mask, outline=mask & ~interior))
            forbidden |= _dilate(mask, gap)
            break
        else:
            if i < 2:  # the two compulsory shapes
                raise RuntimeError(
                    f'could not place shapes in a {h}x{w} image; use a '
                    'larger size')
    return shapes


def _paint(rng, h, w, shapes, markers, marker_cues):
    """Render the image: noisy background, shapes, then the cues.

    Shared offsets are per image, never per class, so that colour and
    texture carry no class information.
    """
    yy, xx = np.mgrid[0:h, 0:w]
    bg_level = rng.uniform(90, 130)
    noise = rng.normal(0, 8, (h, w, 1)) + rng.normal(0, 3, (h, w, 3))
    image = np.full((h, w, 3), bg_level) + noise
    shape_rgb = _SHAPE_RGB + rng.uniform(-10, 10)
    stripes = 12.0 * (((xx + yy) // 4) % 2)[..., None]  # shared texture
    for shape in shapes:
        tone = rng.uniform(-8, 8)  # per-shape, class-independent
        fill = shape_rgb + tone + stripes + noise
        image[shape['mask']] = fill[shape['mask']]
        image[shape['outline']] = (_OUTLINE_RGB + noise)[shape['outline']]
    image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return repaint_cues(image, markers, marker_cues)


def repaint_cues(image, markers, cues):
    """Fill cue boxes with palette colours (the swapped-cue control).

    Args:
        image (np.ndarray): ``(H, W, 3)`` uint8 RGB image (not modified).
        markers (dict): Cue name -> box ``[x0, y0, x1, y1]`` (exclusive
            ends), as in a meta-file record's ``markers``.
        cues (dict | int): Cue name -> palette index, or one palette index
            for every box.

    Returns:
        np.ndarray: A copy of ``image`` with the boxes repainted.
    """
    out = np.array(image, dtype=np.uint8, copy=True)
    for name, (x0, y0, x1, y1) in markers.items():
        index = cues if isinstance(cues, (int, np.integer)) else cues[name]
        out[y0:y1, x0:x1] = MARKER_PALETTE[int(index)]
    return out


def _make_scene(rng, h, w, layout='side-bar', margin=None):
    """Draw one scene: image pixels, shapes and cues.

    Args:
        rng (np.random.Generator): Random stream of this image.
        h (int): Image height.
        w (int): Image width.
        layout (str): ``'side-bar'`` or ``'corners'``.
        margin (int, optional): See :func:`_geometry`.

    Returns:
        dict: ``image`` (``(h, w, 3)`` uint8 RGB), ``cues`` (dict group ->
        palette index), ``markers`` (dict cue name -> painted box),
        ``shapes`` (list of dicts with ``kind``, ``group``, ``polygon``
        (``(N, 2)`` array), ``mask`` and ``outline`` (bool masks)) and
        ``geometry`` (see :func:`_geometry`).
    """
    geo = _geometry(h, w, layout, margin)
    cues, markers, marker_cues = _draw_cues(rng, geo)
    # Shapes may not enter the cues grown by the margin (this is what makes
    # the cue far away) nor touch the image border.
    forbidden = _forbidden_zone(h, w, markers, geo['margin'])
    shapes = _place_shapes(rng, h, w, _draw_kinds(rng), forbidden, geo)
    image = _paint(rng, h, w, shapes, markers, marker_cues)
    return dict(image=image, cues=cues, markers=markers, shapes=shapes,
                geometry=geo)


def _prepare_out_dir(out_dir, owned, overwrite):
    """Create ``out_dir`` and make sure no stale generated data is left.

    Args:
        out_dir (str): Dataset root.
        owned (list[str]): Paths relative to ``out_dir`` that the generator
            writes; only these are ever removed.
        overwrite (bool): Remove existing ``owned`` paths instead of failing.

    Raises:
        FileExistsError: If an owned path exists and ``overwrite`` is False;
            otherwise files of an earlier, larger run would silently become
            part of the new dataset.
    """
    os.makedirs(out_dir, exist_ok=True)
    for rel in owned:
        path = osp.join(out_dir, rel)
        if not osp.lexists(path):
            continue
        if not overwrite:
            raise FileExistsError(
                f'{path} already exists; pass overwrite=True (CLI: '
                '--overwrite) to replace the generated data')
        if osp.isdir(path) and not osp.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)


def _marker_cue(scene, name):
    """Palette index painted into the cue box ``name`` of ``scene``."""
    group = 'round' if name.startswith('bottom') else 'angular'
    return scene['cues'][group]


def _record(scene, cue_classes, **extra):
    """JSON-ready per-image record for the meta file."""
    classes = {g: cue_classes[scene['cues'][g]] for g in _GROUPS}
    shapes = []
    for shape in scene['shapes']:
        poly = shape['polygon']
        shapes.append(
            dict(kind=shape['kind'], group=shape['group'],
                 class_id=classes[shape['group']],
                 centroid=[round(float(v), 2) for v in poly.mean(axis=0)],
                 polygon=[float(v) for v in poly.ravel()]))
    rec = dict(extra)
    rec.update(
        cues={g: scene['cues'][g] for g in _GROUPS},
        classes=classes,
        markers=scene['markers'],
        shapes=shapes)
    return rec


def _write_meta(out_dir, meta):
    """Write the meta file deterministically and return its path."""
    path = osp.join(out_dir, META_FILE)
    with open(path, 'w') as f:
        json.dump(meta, f, indent=1)
        f.write('\n')
    return path


_RULES = {
    'side-bar': dict(angular='the side bar', round='the side bar'),
    'corners': dict(angular='top markers', round='bottom markers'),
}


def _meta_header(fmt, size, seed, cue_classes, layout, margin):
    """Generation parameters shared by both formats (for the meta file)."""
    geo = _geometry(*size, layout, margin)
    return dict(
        format=fmt,
        version=2,
        seed=int(seed),
        size=list(size),
        layout=layout,
        marker_side=geo['marker_side'],
        margin=geo['margin'],
        outline=geo['outline'],
        ignore_index=IGNORE_INDEX,
        rule=_RULES[layout],
        palette=[list(c) for c in MARKER_PALETTE],
        cue_classes=list(cue_classes))


def make_cityscapes(out_dir,
                    num_train=8,
                    num_val=4,
                    size=(128, 256),
                    seed=0,
                    overwrite=False,
                    layout='side-bar',
                    margin=None,
                    label_cue_in_train=False):
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

    Returns:
        dict: Summary with ``format``, ``out_dir``, ``size``, ``seed``,
        ``num_images`` (dict split -> count), ``class_ids`` (sorted train ids
        that can appear besides 255) and ``meta_file`` (path of the
        per-image records).
    """
    _check_size(size)
    _check_count('num_train', num_train)
    _check_count('num_val', num_val)
    _check_count('seed', seed)
    h, w = int(size[0]), int(size[1])
    _geometry(h, w, layout, margin)  # refuse bad layouts before writing
    _prepare_out_dir(out_dir, ['leftImg8bit', 'gtFine', META_FILE],
                     overwrite)

    meta = _meta_header('cityscapes', (h, w), seed, CITYSCAPES_CUE_CLASSES,
                        layout, margin)
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
                margin)
            cue_cls = {g: CITYSCAPES_CUE_CLASSES[scene['cues'][g]]
                       for g in _GROUPS}
            label = np.full((h, w), CITYSCAPES_BACKGROUND, dtype=np.uint8)
            for shape in scene['shapes']:
                label[shape['mask']] = cue_cls[shape['group']]
                # Outlines are ignored: they are a boundary cue only and the
                # exact border pixel is not what the benchmark measures.
                label[shape['outline']] = IGNORE_INDEX
            scored_cue = label_cue_in_train and split == 'train'
            for name, (x0, y0, x1, y1) in scene['markers'].items():
                # Not scored in validation: the cue is given, not predicted.
                label[y0:y1, x0:x1] = IGNORE_INDEX if not scored_cue else \
                    CITYSCAPES_CUE_CLASSES[_marker_cue(scene, name)]

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
    meta_file = _write_meta(out_dir, meta)

    class_ids = sorted({CITYSCAPES_BACKGROUND, *CITYSCAPES_CUE_CLASSES})
    return dict(
        format='cityscapes',
        out_dir=out_dir,
        size=(h, w),
        seed=int(seed),
        layout=layout,
        margin=meta['margin'],
        num_images=dict(train=num_train, val=num_val),
        class_ids=class_ids,
        meta_file=meta_file)


def make_coco(out_dir,
              num_train=4,
              num_val=2,
              size=(128, 128),
              seed=0,
              overwrite=False,
              layout='side-bar',
              margin=None):
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

    Returns:
        dict: Summary with ``format``, ``out_dir``, ``size``, ``seed``,
        ``num_images`` (dict split -> count), ``num_instances`` (dict split
        -> count), ``category_ids`` (sorted ids that are used) and
        ``meta_file``.
    """
    _check_size(size)
    _check_count('num_train', num_train)
    _check_count('num_val', num_val)
    _check_count('seed', seed)
    h, w = int(size[0]), int(size[1])
    _geometry(h, w, layout, margin)  # refuse bad layouts before writing
    _prepare_out_dir(
        out_dir, ['annotations/instances_train2017.json',
                  'annotations/instances_val2017.json', 'train2017',
                  'val2017', META_FILE], overwrite)
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)

    categories = [dict(id=cid, name=name, supercategory=sup)
                  for cid, name, sup in COCO_CATEGORIES]
    meta = _meta_header('coco', (h, w), seed, COCO_CUE_CATEGORIES, layout,
                        margin)
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
                                layout, margin)
            # 4:4:4 chroma and high quality keep marker colours and shape
            # edges faithful; Pillow's encoder is deterministic.
            Image.fromarray(scene['image']).save(
                osp.join(img_dir, file_name), quality=95, subsampling=0)
            images.append(
                dict(id=image_id, file_name=file_name, height=h, width=w))
            for shape in scene['shapes']:
                poly = shape['polygon']
                x_min, y_min = poly.min(axis=0)
                x_max, y_max = poly.max(axis=0)
                annotations.append(
                    dict(
                        id=len(annotations) + 1,
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
            records.append(
                _record(
                    scene, COCO_CUE_CATEGORIES, image_id=image_id,
                    file_name=file_name))
        coco = dict(
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
        with open(osp.join(out_dir, 'annotations',
                           f'instances_{split}2017.json'), 'w') as f:
            json.dump(coco, f)
        meta['splits'][split] = records
        num_instances[split] = len(annotations)
    meta_file = _write_meta(out_dir, meta)

    return dict(
        format='coco',
        out_dir=out_dir,
        size=(h, w),
        seed=int(seed),
        layout=layout,
        margin=meta['margin'],
        num_images=dict(train=num_train, val=num_val),
        num_instances=num_instances,
        category_ids=sorted(set(COCO_CUE_CATEGORIES)),
        meta_file=meta_file)
