"""What each attention module attends to, computed from the input it was
given (recorded by a forward hook) and its own weights: the model is not
changed, and each map is the one its forward uses.

Every function takes the module and the positional arguments of one call
and returns a list of :class:`Panel` s to draw (see ``draw.py``), of the
first image of the batch. Grid coordinates are (row, column) on the
module's feature map.
"""
from typing import List, NamedTuple, Optional, Sequence

import torch
import torch.nn.functional as F

from .. import blocks as _blocks
from ..blocks.asym_non_local import pyramid_sample


class Panel(NamedTuple):
    """One picture of a module.

    ``kind``: ``'heatmap'`` (``data`` (h, w) over the image), ``'points'``
    (``data`` (h, w) over the image, with ``points`` marked and numbered),
    ``'matrix'`` (``data`` (a, b), drawn as is) or ``'bars'`` (``data``
    (C,)).
    """
    kind: str
    title: str
    data: torch.Tensor
    points: Optional[Sequence] = None
    #: ``'matrix'`` only: names of equally wide column blocks (drawn with
    #: separators and named below), e.g. the pools of APNB's keys
    blocks: Optional[Sequence[str]] = None


def _salient_points(x, num):
    """The ``num`` positions of largest squared L2 norm of x[0] (SPANet's
    saliency), as (row, column) on x's grid."""
    norms = x[0].float().pow(2).sum(0).flatten()
    top = norms.topk(min(num, norms.numel())).indices
    return [(int(i) // x.size(3), int(i) % x.size(3)) for i in top]


def _grid_points(points, x, image_size):
    """Image pixels (x, y) -> (row, column) on x's grid."""
    h, w = x.shape[2:]
    height, width = image_size
    return [(min(h - 1, int(py * h / height)), min(w - 1, int(px * w / width)))
            for px, py in points]


def _query_points(x, points, image_size, num=4):
    if points:
        return _grid_points(points, x, image_size)
    return _salient_points(x, num)


def _flat(t):
    return t[0].float().flatten(1)  # (C, P) of the first image


def salient_position(module, args, points=None, image_size=None):
    x = args[0][:1]
    out, att = module(x, return_attention=True)
    h, w = x.shape[2:]
    chosen = [(int(i) // w, int(i) % w) for i in att['indices'][0]]
    # what selects them: the squared norm of theta(x) at each position
    saliency = module.theta(x)[0].float().pow(2).sum(0)
    return [Panel('points', f'selected positions (k={len(chosen)}) over '
                  '|theta(x)|^2', saliency, chosen),
            Panel('matrix', "channel affinity softmax(S S^T) (C' x C')",
                  att['affinity'][0])]


def _where(point, grid, image_size):
    """A grid cell (row, column) in image pixels, as the text gives them:
    ``(x, y) px``, the cell's centre (the grid's own coordinates where the
    image size is unknown)."""
    if image_size is None:
        return f'cell {point}'
    (r, c), (h, w), (height, width) = point, grid, image_size
    return (f'({int((c + 0.5) * width / w)}, {int((r + 0.5) * height / h)})'
            f' px')


def _query_panels(weights, grid, points, label, image_size=None):
    """One panel per query: the row of ``weights`` (P_q, P_k) as a map."""
    h, w = grid
    return [Panel('points', f'{label} of query {i + 1} at '
                  f'{_where(p, grid, image_size)}',
                  weights[p[0] * w + p[1]].view(h, w), [p])
            for i, p in enumerate(points)]


def position(module, args, points=None, image_size=None):
    x = args[0][:1]
    query = _flat(module.query_project(x)).t()
    key = _flat(module.key_project(x))
    weights = torch.softmax(query @ key, dim=-1)  # (P, P), rows: queries
    return _query_panels(weights, x.shape[2:],
                         _query_points(x, points, image_size), 'attention',
                         image_size)


def channel(module, args, points=None, image_size=None):
    tokens = _flat(args[0])
    energy = tokens @ tokens.t()
    sign = -1.0 if module.form == 'danet' else 1.0
    return [Panel('matrix', f'channel affinity ({module.form} form)',
                  torch.softmax(sign * energy, dim=-1))]


def non_local(module, args, points=None, image_size=None):
    x = args[0][:1]
    if module.mode != 'embedded_gaussian' or module.sub_sample:
        raise NotImplementedError(
            f'NonLocal pictures: mode embedded_gaussian without '
            f'sub-sampling only, got mode={module.mode!r}, '
            f'sub_sample={module.sub_sample}')
    query = _flat(module.theta(x)).t()
    key = _flat(module.phi(x))
    scale = module.inter_channels**-0.5 if module.use_scale else 1.0
    weights = torch.softmax(scale * (query @ key), dim=-1)
    return _query_panels(weights, x.shape[2:],
                         _query_points(x, points, image_size), 'attention',
                         image_size)


def _criss_cross_matrix(module, x):
    """Dense (P, P) matrix of one criss-cross pass's weights (row: query)."""
    query, key, _ = module._project(x[:1])
    weights = module.attention_weights(query, key)[0]  # (H, W, H + W)
    h, w = x.shape[2:]
    dense = weights.new_zeros(h, w, h, w)
    rows, cols = torch.arange(h), torch.arange(w)
    # column entries: key (i, col) for query (row, col)
    dense[rows[:, None, None], cols[None, :, None], rows[None, None, :],
          cols[None, :, None]] = weights[..., :h]
    # row entries: key (row, j)
    dense[rows[:, None, None], cols[None, :, None], rows[:, None, None],
          cols[None, None, :]] += weights[..., h:]
    return dense.view(h * w, h * w)


def criss_cross(module, calls, points=None, image_size=None):
    """Reach of each query after one pass and after all the passes the
    model made (CCHead: two, the second on the first's output)."""
    x = calls[0][0][:1]
    if x.shape[2] * x.shape[3] > 16384:
        raise ValueError(
            f'criss-cross pictures build a dense (P, P) matrix; the map of '
            f'{tuple(x.shape[2:])} is too large: use a smaller image')
    matrices = [_criss_cross_matrix(module, args[0]) for args in calls]
    queries = _query_points(x, points, image_size)
    reach = matrices[0]
    panels = _query_panels(reach, x.shape[2:], queries, 'reach after 1 pass',
                           image_size)
    for matrix in matrices[1:]:
        reach = matrix @ reach
    if len(matrices) > 1:
        panels += _query_panels(reach, x.shape[2:], queries,
                                f'reach after {len(matrices)} passes',
                                image_size)
    return panels


def global_context(module, args, points=None, image_size=None):
    x = args[0][:1]
    if module.pooling_type != 'att':
        raise NotImplementedError('GlobalContext with pooling_type=avg has '
                                  'no attention to draw')
    logits = module.conv_mask(x.float())
    weights = torch.softmax(logits.flatten(1), dim=-1).view(x.shape[2:])
    return [Panel('heatmap', 'context-pooling weights softmax(W_k x)',
                  weights)]


def object_context(module, args, points=None, image_size=None):
    """The soft object region of each class the coarse logits predict
    somewhere (most frequent first)."""
    logits = args[1][:1].float()
    regions = torch.softmax(module.spatial_gather.scale
                            * logits.flatten(2), dim=2)[0]
    regions = regions.view(-1, *logits.shape[2:])
    counts = logits[0].argmax(0).flatten().bincount(minlength=logits.size(1))
    present = [int(k) for k in counts.argsort(descending=True)
               if counts[k] > 0]
    return [Panel('heatmap', f'soft object region of class {k}',
                  regions[k]) for k in present]


def pyramid_non_local(module, args, points=None, image_size=None):
    """APNB: attention of each query over the pyramid-sampled keys, drawn
    as the pool grids side by side (1x1, 3x3, 6x6, 8x8 by default)."""
    x = args[0][:1]
    stage = module.stages[0]
    query = _flat(stage.query_project(x)).t()
    key = _flat(pyramid_sample(stage.key_project(x), stage.key_pool_scales)
                .unsqueeze(-1))
    weights = torch.softmax(query @ key * stage.hidden_channels**-0.5, -1)
    panels = []
    for i, p in enumerate(_query_points(x, points, image_size)):
        row = weights[p[0] * x.size(3) + p[1]]
        grids, start = [], 0
        size = max(stage.key_pool_scales)
        for s in stage.key_pool_scales:
            grid = row[start:start + s * s].view(1, 1, s, s)
            grids.append(F.interpolate(grid, size=(size, size),
                                       mode='nearest')[0, 0])
            start += s * s
        panels.append(Panel(
            'matrix', f'query {i + 1} at '
            f'{_where(p, x.shape[2:], image_size)}: attention over the '
            f'pooled keys', torch.cat(grids, dim=1),
            blocks=[f'{s}x{s} pool' for s in stage.key_pool_scales]))
    return panels


def _effective_gate(module, args):
    """out / x of the first image where |x| is not tiny: the gate a
    multiplicative block applied, (C, H, W) (NaN where x is ~0)."""
    x = args[0][:1].float()
    out = module(args[0][:1]).float()
    ratio = out / x
    return torch.where(x.abs() > 1e-6, ratio, torch.nan)[0]


def channel_gate(module, args, points=None, image_size=None):
    gate = _effective_gate(module, args).flatten(1).nanmedian(dim=1).values
    return [Panel('bars', 'channel gate a_c (out / x)', gate)]


def spatial_gate(module, args, points=None, image_size=None):
    gate = _effective_gate(module, args).nanmean(dim=0)
    return [Panel('heatmap', 'effective gate out / x, mean over channels',
                  gate)]


#: module class -> picture function; CrissCrossAttention takes all its calls
#: The drawers, by the name a block gives in its ``picture`` attribute.
DRAWERS = {
    'salient_position': salient_position,
    'position': position,
    'channel': channel,
    'non_local': non_local,
    'criss_cross': criss_cross,
    'global_context': global_context,
    'object_context': object_context,
    'pyramid_non_local': pyramid_non_local,
    'channel_gate': channel_gate,
    'spatial_gate': spatial_gate,
}
#: Drawers that take every recorded call (a recurrent module), not the first.
ALL_CALLS = ('criss_cross', )


def pictures_of(namespace):
    """``{block class: drawer}`` for every class of ``namespace`` (a module)
    that declares its own ``picture`` (a key of :data:`DRAWERS`): a new
    block is drawn by naming its picture in its own file."""
    found = {}
    for obj in vars(namespace).values():
        name = vars(obj).get('picture') if isinstance(obj, type) else None
        if name is None:
            continue
        if name not in DRAWERS:
            raise KeyError(f'{obj.__name__}.picture = {name!r} is not one of '
                           f'the drawers {sorted(DRAWERS)}')
        found[obj] = DRAWERS[name]
    return found


#: Every drawable block of :mod:`mmattn.blocks`.
PICTURES = pictures_of(_blocks)


def panels_for(module, calls: List[tuple], points=None,
               image_size=None) -> List[Panel]:
    """The pictures of one module from its recorded calls."""
    fn = PICTURES[type(module)]
    with torch.no_grad():
        if type(module).picture in ALL_CALLS:
            return fn(module, calls, points, image_size)
        return fn(module, calls[0], points, image_size)
