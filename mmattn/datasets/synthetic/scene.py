"""One synthetic scene: cues, shapes placed away from them, and the painted
image; and the repainting of the cues for the swapped-cue control."""
import numpy as np

from .geometry import _geometry
from .raster import _dilate, _erode, _random_polygon, _rasterize
from .tables import (_FORMAT_KEYS, _GROUP_OF_KIND, _GROUPS, MARKER_PALETTE,
                     _OUTLINE_RGB, _SHAPE_RGB, _SPLIT_KEYS)


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


def _make_scene(rng, h, w, layout='side-bar', margin=None, cue_width=None):
    """Draw one scene: image pixels, shapes and cues.

    Args:
        rng (np.random.Generator): Random stream of this image.
        h (int): Image height.
        w (int): Image width.
        layout (str): ``'side-bar'`` or ``'corners'``.
        margin (int, optional): See :func:`_geometry`.
        cue_width (int, optional): See :func:`_geometry`.

    Returns:
        dict: ``image`` (``(h, w, 3)`` uint8 RGB), ``cues`` (dict group ->
        palette index), ``markers`` (dict cue name -> painted box),
        ``shapes`` (list of dicts with ``kind``, ``group``, ``polygon``
        (``(N, 2)`` array), ``mask`` and ``outline`` (bool masks)) and
        ``geometry`` (see :func:`_geometry`).
    """
    geo = _geometry(h, w, layout, margin, cue_width)
    cues, markers, marker_cues = _draw_cues(rng, geo)
    # Shapes may not enter the cues grown by the margin (this is what makes
    # the cue far away) nor touch the image border.
    forbidden = _forbidden_zone(h, w, markers, geo['margin'])
    shapes = _place_shapes(rng, h, w, _draw_kinds(rng), forbidden, geo)
    image = _paint(rng, h, w, shapes, markers, marker_cues)
    return dict(image=image, cues=cues, markers=markers, shapes=shapes,
                geometry=geo)


def synthetic_image(h, w, seed=0, layout='side-bar'):
    """One benchmark scene's image, ``(h, w, 3)`` uint8 RGB (for checks
    that want a natural-looking input, such as an export's ``--verify``)."""
    return _make_scene(np.random.default_rng(seed), h, w, layout)['image']
