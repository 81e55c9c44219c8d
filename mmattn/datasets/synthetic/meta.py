"""What both writers share: the output folder, the meta file and its
per-image records."""
import json
import os
import os.path as osp
import shutil

from .geometry import _check_count, _check_size, _geometry
from .tables import _GROUPS, IGNORE_INDEX, MARKER_PALETTE, META_FILE


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


def _meta_header(fmt, size, seed, cue_classes, layout, margin,
                 cue_width=None):
    """Generation parameters shared by both formats (for the meta file)."""
    geo = _geometry(*size, layout, margin, cue_width)
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


def start_dataset(fmt, out_dir, owned, size, num_train, num_val, seed,
                  layout, margin, cue_classes, overwrite, cue_width=None):
    """What both writers do first: check the arguments, refuse a bad layout
    before anything is written, clear the generated paths ``owned`` (and the
    meta file) and start the meta record.

    Returns:
        tuple: ``(h, w, meta)``.
    """
    _check_size(size)
    _check_count('num_train', num_train)
    _check_count('num_val', num_val)
    _check_count('seed', seed)
    h, w = int(size[0]), int(size[1])
    _geometry(h, w, layout, margin, cue_width)
    _prepare_out_dir(out_dir, list(owned) + [META_FILE], overwrite)
    return h, w, _meta_header(fmt, (h, w), seed, cue_classes, layout, margin,
                              cue_width)


def finish_dataset(out_dir, meta, num_train, num_val, **extra):
    """Write the meta file; the writers' summary (see their Returns)."""
    meta_file = _write_meta(out_dir, meta)
    return dict(
        format=meta['format'],
        out_dir=out_dir,
        size=tuple(meta['size']),
        seed=meta['seed'],
        layout=meta['layout'],
        margin=meta['margin'],
        num_images=dict(train=num_train, val=num_val),
        **extra,
        meta_file=meta_file)
