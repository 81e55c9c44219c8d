"""Polygons: random shapes, rasterising, dilation and erosion (numpy only)."""
import numpy as np

from .tables import _ELLIPSE_VERTICES


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
