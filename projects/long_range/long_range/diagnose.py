"""What a trained SPANet block does on the benchmark's validation images:
where its salient positions lie, and what its channel affinity holds.

For every image the block's input is recorded (``mmattn.visualization.
AttentionRecorder``) while the model predicts, and the block is called again
with ``return_attention=True``. Per image:

* ``on_bar``, ``on_shapes``, ``on_background``: the shares of the k selected
  positions whose feature cell lies on the cue bar's columns, on a shape (the
  label at the cell's centre is a cue class) or elsewhere;
* ``entropy``: the mean entropy of the rows of the (C', C') affinity, divided
  by log C' (1: uniform rows, which mix every channel alike whatever the
  image: no image-specific context reaches the positions; 0: one-hot rows,
  a saturated softmax);
* ``update``: ``||out - x|| / ||x||`` of the block (how much it changes its
  input);
* ``cue_accuracy`` of the model on the image.

Per model, besides the means: ``affinity_cue_decoding``, the leave-one-out
accuracy of a nearest-centroid classifier that reads the bar's colour from
the flattened affinity (chance 1/8): whether the affinity carries the cue
at all; ``per_cue_accuracy`` (a colour never bound to its class stands
out) and ``closest_cues``, the two colours whose mean affinities are
closest (distance 0: the affinity cannot tell them apart); ``energy_max``,
the largest energy, and ``energy_gap``, the median gap between the two
largest energies of a row (a gap of 10 already makes the row one-hot).
"""
import numpy as np

from .recipe import NUM_CUES, cue_accuracy, predict


def cell_columns(image_width, grid_width):
    """Pixel columns ``[x0, x1)`` of each column of a feature grid."""
    stride = image_width / grid_width
    return [(int(round(j * stride)), int(round((j + 1) * stride)))
            for j in range(grid_width)]


def classify_positions(indices, grid_shape, image_shape, bar_box, label,
                       background=0, ignore_index=255):
    """Where each selected position lies: ``'bar'``, ``'shape'`` or
    ``'background'``.

    Args:
        indices (Sequence[int]): flat positions in the (h, w) feature grid.
        grid_shape (tuple): (h, w) of the feature map.
        image_shape (tuple): (H, W) of the image.
        bar_box (Sequence[int]): the bar's ``[x0, y0, x1, y1)`` in pixels.
        label (np.ndarray): (H, W) label map of the image.

    A position is on the bar when its cell's columns overlap the bar's; else
    on a shape when the label at the cell's centre is neither the
    background nor ignored.
    """
    h, w = grid_shape
    big_h, big_w = image_shape
    columns = cell_columns(big_w, w)
    where = []
    for index in indices:
        row, col = divmod(int(index), w)
        x0, x1 = columns[col]
        if x0 < bar_box[2] and x1 > bar_box[0]:
            where.append('bar')
            continue
        cy = min(big_h - 1, int((row + 0.5) * big_h / h))
        cx = min(big_w - 1, (x0 + x1) // 2)
        value = int(label[cy, cx])
        where.append('background' if value in (background, ignore_index)
                     else 'shape')
    return where


def nearest_centroid_accuracy(features, classes):
    """Leave-one-out accuracy (percent) of a nearest-centroid classifier.

    A class seen once has no centroid without its own sample: such samples
    count as wrong.
    """
    features = np.asarray(features, dtype=np.float64)
    classes = np.asarray(classes)
    if len(features) != len(classes) or len(features) < 2:
        raise ValueError('features and classes must have the same length, '
                         f'at least 2; got {len(features)} and '
                         f'{len(classes)}')
    sums = {c: features[classes == c].sum(0) for c in np.unique(classes)}
    counts = {c: int((classes == c).sum()) for c in sums}
    correct = 0
    for feature, cls in zip(features, classes):
        best, best_distance = None, np.inf
        for c, total in sums.items():
            n = counts[c] - (c == cls)
            if n == 0:
                continue
            centroid = (total - feature * (c == cls)) / n
            distance = float(((feature - centroid)**2).sum())
            if distance < best_distance:
                best, best_distance = c, distance
        correct += int(best == cls)
    return 100.0 * correct / len(features)


def spa_diagnosis(model, cfg, split, module='decode_head.spa_block'):
    """Per-image and per-model diagnosis of the SPANet block ``module``.

    Args:
        model: a trained mmseg segmentor holding the block.
        cfg: its config (for the test pipeline).
        split (dict): :func:`long_range.recipe.load_split` of the validation
            images (side-bar layout).
        module (str): name of the block in ``model.named_modules()``.

    Returns:
        dict: ``images`` (one dict per image, see the module doc) and the
        means over images of each per-image value, plus
        ``affinity_cue_decoding`` and ``k``.
    """
    import torch

    from mmattn.visualization import AttentionRecorder
    with AttentionRecorder(model, modules=[module]) as recorder:
        preds = predict(model, cfg, split['images'])
    if module not in recorder.calls:
        raise ValueError(f'{module!r} was never called while predicting')
    block, calls = recorder.calls[module]
    inputs = torch.cat([args[0] for args in calls])
    if len(inputs) != len(split['images']):
        raise ValueError(f'{module!r} saw {len(inputs)} images, the split '
                         f'has {len(split["images"])}')
    block.eval()
    with torch.no_grad():
        out, attention = block(inputs, return_attention=True)
        energy = _energies(block, inputs)
    affinity = attention['affinity'].double()
    hidden = affinity.shape[-1]
    rows = affinity.clamp_min(1e-30)
    entropy = (-(rows * rows.log()).sum(-1) / np.log(hidden)).mean(-1)
    update = ((out - inputs).flatten(1).norm(dim=1) /
              inputs.flatten(1).norm(dim=1).clamp_min(1e-12))
    grid = tuple(inputs.shape[2:])
    images, cues = [], []
    for i, (rec, lab, pred) in enumerate(
            zip(split['records'], split['labels'], preds)):
        (box, ) = rec['markers'].values()
        where = classify_positions(attention['indices'][i].tolist(), grid,
                                   lab.shape, box, lab)
        k = len(where)
        images.append(dict(
            on_bar=100.0 * where.count('bar') / k,
            on_shapes=100.0 * where.count('shape') / k,
            on_background=100.0 * where.count('background') / k,
            entropy=float(entropy[i]), update=float(update[i]),
            cue_accuracy=cue_accuracy([pred], [lab])))
        cues.append(rec['cues']['angular'])
    summary = {key: float(np.mean([im[key] for im in images]))
               for key in images[0]}
    flat = affinity.flatten(1).numpy()
    summary.update(
        k=int(attention['indices'].shape[1]), images=images,
        affinity_cue_decoding=nearest_centroid_accuracy(flat, cues),
        chance=100.0 / NUM_CUES,
        per_cue_accuracy=per_cue_accuracy(images, cues),
        closest_cues=closest_centroids(flat, cues),
        energy_max=float(energy.abs().max()),
        energy_gap=float((lambda top: (top[..., 0] - top[..., 1]).median())(
            energy.topk(2, dim=-1).values)))
    return summary


def _energies(block, x):
    """The (N, C', C') energies whose row-wise softmax is the block's
    affinity (scaled as the block scales them)."""
    from mmattn.ops import salient_select
    theta, _ = block._project(x)
    selected, _ = salient_select(theta, block.num_positions(*x.shape[2:]))
    return block.energies(selected.double())


def per_cue_accuracy(images, cues):
    """``{cue colour: mean cue accuracy of its images}`` (a colour the model
    never bound to its class stands out)."""
    cues = np.asarray(cues)
    accuracy = np.asarray([im['cue_accuracy'] for im in images])
    return {int(c): float(accuracy[cues == c].mean())
            for c in np.unique(cues)}


def closest_centroids(features, classes):
    """The two classes whose mean features are closest: ``(a, b,
    distance)``; a distance of 0 means the features cannot tell them
    apart."""
    features = np.asarray(features, dtype=np.float64)
    classes = np.asarray(classes)
    labels = np.unique(classes)
    if len(labels) < 2:
        raise ValueError(f'need two classes at least, got {labels.tolist()}')
    centroids = np.stack([features[classes == c].mean(0) for c in labels])
    best = None
    for i in range(len(labels)):
        for j in range(i + 1, len(labels)):
            d = float(np.linalg.norm(centroids[i] - centroids[j]))
            if best is None or d < best[2]:
                best = (int(labels[i]), int(labels[j]), d)
    return best


def channel_gates(model, cfg, split, block_type):
    """The channel gates of every ``block_type`` block of ``model`` (a gate
    such as SPEM's: ``out = x * gate`` with a (N, C, 1, 1) gate) over the
    validation images of ``split``.

    The gate is read back from the block's input and output as
    ``<out, x> / <x, x>`` per image and channel (exact for ``x * gate``;
    channels that are zero everywhere are left out).

    Returns:
        dict: block name -> ``mean``, ``min``, ``max`` of its gates.
    """
    import torch
    names = [n for n, m in model.named_modules()
             if isinstance(m, block_type)]
    if not names:
        raise ValueError(f'the model has no {block_type.__name__} block')
    seen = {n: [] for n in names}
    handles = []
    for name in names:
        module = model.get_submodule(name)

        def record(module, args, output, name=name):
            x = args[0].double()
            dot = (output.double() * x).sum((2, 3))
            norm = (x * x).sum((2, 3))
            seen[name].append(dot[norm > 0] / norm[norm > 0])

        handles.append(module.register_forward_hook(record))
    try:
        predict(model, cfg, split['images'])
    finally:
        for handle in handles:
            handle.remove()
    out = {}
    for name, parts in seen.items():
        gates = torch.cat(parts)
        out[name] = dict(mean=float(gates.mean()), min=float(gates.min()),
                         max=float(gates.max()))
    return out
