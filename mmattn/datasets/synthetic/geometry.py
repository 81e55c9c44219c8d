"""Image sizes and cue geometry: where the cue boxes are and how far shapes
keep from them."""
import re

import numpy as np

from .tables import LAYOUTS, _MAX_SIDE, _MIN_SIDE


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


def _check_layout(layout):
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')


def _geometry(h, w, layout='side-bar', margin=None, cue_width=None):
    """Cue boxes, shape-to-cue margin and outline width of an image.

    Args:
        h (int): Image height.
        w (int): Image width.
        layout (str): ``'side-bar'`` or ``'corners'`` (see the module
            docstring).
        margin (int, optional): Least Chebyshev distance in pixels between
            a shape and a cue. Default: 40 % of the width left beside the
            bar (``'side-bar'``), a quarter of the short side (``'corners'``).
        cue_width (int, optional): Width in pixels of the side bar
            (``'side-bar'`` only; the cue-size axis of the long-range
            benchmark's context sweep). Default: a sixth of the short side,
            at least 4.

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
    if cue_width is not None:
        if layout != 'side-bar':
            raise ValueError(f'cue_width is for the side-bar layout, got '
                             f'layout={layout!r}')
        if (not isinstance(cue_width, (int, np.integer))
                or isinstance(cue_width, bool)
                or not 1 <= cue_width <= w // 4):
            raise ValueError(f'cue_width must be an int in [1, {w // 4}] (a '
                             f'quarter of the width {w}), got {cue_width!r}')
        cue_width = int(cue_width)
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
        side = max(4, short // 6) if cue_width is None else cue_width
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
