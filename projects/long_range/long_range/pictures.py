"""Pictures of the long-range benchmark that explain themselves: label maps
in the Cityscapes palette with the ignored label hatched (not white, so it
does not merge with the gutters), column headers, and a legend from the
bar's colour to the class it decides."""
import numpy as np

#: Gutter between panels: light grey, unlike the hatch and every class.
GUTTER = 255
_HATCH = (150, 150, 150), (225, 225, 225)


def hatch(shape, period=6):
    """(H, W, 3) uint8 diagonal stripes: how ignored pixels (label 255:
    the bar, the shape outlines) are drawn."""
    rows, cols = np.indices(shape[:2])
    dark = ((rows + cols) // (period // 2)) % 2 == 0
    out = np.empty((*shape[:2], 3), dtype=np.uint8)
    out[dark], out[~dark] = _HATCH
    return out


def city_palette():
    from mmseg.datasets import CityscapesDataset
    return CityscapesDataset.METAINFO['palette']


def colourise(label, palette=None):
    """RGB picture of a label map: the Cityscapes palette, 255 hatched."""
    palette = city_palette() if palette is None else palette
    lut = np.zeros((256, 3), dtype=np.uint8)
    lut[:len(palette)] = np.asarray(palette, dtype=np.uint8)
    out = lut[label]
    ignored = label == 255
    if ignored.any():
        out[ignored] = hatch(label.shape)[ignored]
    return out


def side_by_side(*pictures, gap=4):
    """Concatenate equally tall RGB pictures left to right, with gaps."""
    white = np.full((pictures[0].shape[0], gap, 3), GUTTER, dtype=np.uint8)
    parts = []
    for picture in pictures:
        parts += [picture, white]
    return np.concatenate(parts[:-1], axis=1)


def stack(rows, gap=6):
    """Stack equally wide RGB pictures top to bottom, with gaps."""
    white = np.full((gap, rows[0].shape[1], 3), GUTTER, dtype=np.uint8)
    parts = []
    for row in rows:
        parts += [row, white]
    return np.concatenate(parts[:-1], axis=0)


def _canvas(width, height):
    from PIL import Image, ImageDraw, ImageFont
    image = Image.new('RGB', (width, height), (GUTTER, ) * 3)
    return image, ImageDraw.Draw(image), ImageFont.load_default()


def header(titles, widths, gap=4, height=16):
    """A strip of ``titles`` centred over columns of ``widths`` pixels
    separated by ``gap``."""
    image, draw, font = _canvas(sum(widths) + gap * (len(widths) - 1),
                                height)
    left = 0
    for title, width in zip(titles, widths):
        text = draw.textlength(title, font=font)
        draw.text((left + (width - text) / 2, 2), title, fill=(0, 0, 0),
                  font=font)
        left += width + gap
    return np.asarray(image)


def cue_legend(width, meta, palette=None):
    """Strip(s) of ``width`` pixels: each bar colour, an arrow, and the class
    it decides in its label colour; the background class; and the hatch of
    ignored pixels. ``meta``: the data's header (``cue_classes``)."""
    from mmattn.datasets.synthetic.tables import (CITYSCAPES_BACKGROUND,
                                                  CITYSCAPES_CLASSES,
                                                  MARKER_PALETTE)
    palette = city_palette() if palette is None else palette
    entries = [(MARKER_PALETTE[i], palette[c],
                f'{CITYSCAPES_CLASSES[c]}')
               for i, c in enumerate(meta['cue_classes'])]
    entries.append((None, palette[CITYSCAPES_BACKGROUND],
                    f'{CITYSCAPES_CLASSES[CITYSCAPES_BACKGROUND]} '
                    f'(background)'))
    entries.append((None, 'hatch', 'ignored (bar, outlines)'))
    line, item = 16, 150
    per_line = max(1, width // item)
    lines = (len(entries) + per_line - 1) // per_line
    image, draw, font = _canvas(width, line * lines + 18)
    draw.text((2, 2), 'bar colour -> class of every shape:', fill=(0, 0, 0),
              font=font)
    for k, (bar, colour, name) in enumerate(entries):
        x, y = (k % per_line) * item + 2, 18 + (k // per_line) * line
        if bar is not None:
            draw.rectangle([x, y + 2, x + 10, y + 12], fill=tuple(bar),
                           outline=(0, 0, 0))
            draw.text((x + 13, y + 1), '->', fill=(0, 0, 0), font=font)
        box = [x + 28, y + 2, x + 38, y + 12]
        if colour == 'hatch':
            from PIL import Image
            image.paste(Image.fromarray(hatch((11, 11), period=4)),
                        (box[0], box[1]))
            draw.rectangle(box, outline=(0, 0, 0))
        else:
            draw.rectangle(box, fill=tuple(colour), outline=(0, 0, 0))
        draw.text((x + 42, y + 1), name, fill=(0, 0, 0), font=font)
    return np.asarray(image)


def paint_samples(split, path, count=4):
    """``image | training label`` for the first ``count`` images of a split
    from :func:`long_range.recipe.load_split`, with headers and the legend;
    returns ``path``."""
    from PIL import Image
    rows = [side_by_side(img, colourise(lab)) for img, lab in
            zip(split['images'][:count], split['labels'][:count])]
    width = split['images'][0].shape[1]
    picture = stack([header(['image', 'training label'], [width, width])] +
                    rows + [cue_legend(rows[0].shape[1], split['meta'])],
                    gap=4)
    Image.fromarray(picture).save(path)
    return path
