"""How inserted blocks run: forward hooks that apply them to a point's
output (a map, or tokens laid on their grid and back), the module that
holds them, and the probe forward that finds each point's channels and
grid. Used by :mod:`mmattn.models.backbones.insert`."""
import difflib
import re
import types

import torch
import torch.nn as nn
from mmengine.logging import print_log

_DEFAULT_PROBE_HW = (64, 64)


def _pair_of_ints(value):
    return (isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(v, int) for v in value))


def _grid_of(args, kwargs, recorded):
    """The (H, W) grid of a token output: a ``hw_shape`` argument of the
    submodule (Swin's and MiT's blocks take one), else the grid the
    backbone's ``patch_embed`` last returned (plain ViTs), else None."""
    for value in list(args[1:]) + list(kwargs.values()):
        if _pair_of_ints(value):
            return tuple(value)
    return recorded


def _grid_tokens(tokens, grid):
    """(N, L, C) tokens -> (prefix (N, P, C), (N, C, H, W) map), where the
    P = L - H * W leading tokens (class or distillation tokens) are kept
    aside; None if L < H * W."""
    h, w = grid
    prefix = tokens.shape[1] - h * w
    if prefix < 0:
        return None
    grid_part = tokens[:, prefix:]
    return tokens[:, :prefix], grid_part.transpose(1, 2).unflatten(2, (h, w))


class _ApplyBlocks:
    """Forward hook: a point's output goes through its blocks in order.

    An (N, C, H, W) output goes in as it is. An (N, L, C) token output is
    laid out on its (H, W) grid (see :func:`_grid_of`), leading class
    tokens kept aside, and laid back after the blocks.

    An object, not a closure, so that ``copy.deepcopy`` of the backbone
    rebinds it to the copied ``InsertedBlocks``.
    """

    def __init__(self, inserted, point):
        self.inserted = inserted
        self.point = point

    def __call__(self, module, args, kwargs, output):
        blocks = [self.inserted[k] for k in self.inserted.keys_at(self.point)]
        if output.dim() == 4:
            for block in blocks:
                output = block(output)
            return output
        grid = _grid_of(args, kwargs, self.inserted.grid)
        laid_out = _grid_tokens(output, grid) if grid else None
        if laid_out is None:  # the probe saw a grid; this input gives none
            raise ValueError(
                f'after={self.point!r}: {tuple(output.shape)} tokens do not '
                f'fit the grid {grid} of this forward')
        prefix, x = laid_out
        for block in blocks:
            x = block(x)
        return torch.cat([prefix, x.flatten(2).transpose(1, 2)], dim=1)


class _RecordGrid:
    """Forward hook on a ViT's ``patch_embed``: keeps the (H, W) it returns
    (``(tokens, (H, W))``) as ``holder.grid`` for the token points that
    follow (the holder: the ``InsertedBlocks``, or the probe's record)."""

    def __init__(self, holder):
        self.holder = holder

    def __call__(self, module, args, output):
        if isinstance(output, tuple) and len(output) == 2 and \
                _pair_of_ints(output[1]):
            self.holder.grid = tuple(output[1])


class InsertedBlocks(nn.ModuleDict):
    """The blocks inserted into a backbone, keyed ``<point>__<i>``.

    ``<point>`` is the submodule name with dots replaced by underscores
    (``layer2.1`` -> ``layer2_1``); ``i`` counts the blocks at that point in
    the order they are applied. :attr:`points` maps each key back to the
    submodule name.
    """

    def __init__(self):
        super().__init__()
        self.points = {}  # key -> submodule name it follows
        self._load_prefix = None
        self.grid = None  # (H, W) of the last patch embedding (ViTs)

    def add(self, point, block):
        index = len(self.keys_at(point))
        key = f'{re.sub(r"[^0-9A-Za-z_]", "_", point)}__{index}'
        if key in self:
            raise ValueError(
                f'submodule names {self.points[key]!r} and {point!r} give '
                f'the same key {key!r}; insert after one of them only')
        self[key] = block
        self.points[key] = point
        return key

    def keys_at(self, point):
        return [k for k, p in self.points.items() if p == point]

    def init_weights(self):
        """Re-apply each block's own ``init_weights``.

        The host backbone's ``init_cfg`` (mmseg's ResNet: Kaiming for every
        ``Conv2d``, 1 for every norm) reaches the inserted blocks too, since
        they are its submodules; mmengine then calls ``init_weights`` of the
        backbone's children that have one. Without this method that call
        skipped the blocks, so a block's zero start (``zero_init``, GC's
        zero last conv) was overwritten: the same order as for blocks given
        through a ResNet's ``plugins=``, where each Bottleneck's children
        are initialised after the ResNet's ``init_cfg``.
        """
        for block in self.values():
            if hasattr(block, 'init_weights') and not getattr(
                    block, 'is_init', False):
                block.init_weights()

    def extra_repr(self):
        return ', '.join(f'{k}: after {p}' for k, p in self.points.items())

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs):
        # Called before the blocks load (torch's and mmengine's loaders);
        # remember whether the checkpoint knows any inserted block at all.
        has_any = any(k.startswith(prefix) for k in state_dict)
        self._load_prefix = None if has_any else prefix
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)


def _report_new_blocks(inserted, incompatible_keys):
    """Post-load hook: one line instead of a missing key per parameter."""
    prefix, inserted._load_prefix = inserted._load_prefix, None
    if prefix is None or not len(inserted):
        return
    missing = incompatible_keys.missing_keys
    missing[:] = [k for k in missing if not k.startswith(prefix)]
    names = ', '.join(f'{prefix}{k} ({type(inserted[k]).__name__} after '
                      f'{p})' for k, p in inserted.points.items())
    print_log(
        f'The checkpoint has no weights for the {len(inserted)} inserted '
        f'block(s), which keep their initialisation (new): {names}',
        logger='current')


def _submodule(backbone, name):
    modules = dict(backbone.named_modules())
    if not isinstance(name, str) or not name or name not in modules:
        names = [n for n in modules if n]
        close = difflib.get_close_matches(str(name), names, n=5, cutoff=0.6)
        hint = (f'close matches: {close}' if close else
                f'top-level submodules: {[n for n in names if "." not in n]}')
        raise ValueError(
            f'after={name!r} is not a submodule of '
            f'{type(backbone).__name__}; {hint}')
    return modules[name]


def _patch_embed(backbone):
    """The backbone's ``patch_embed`` if it has one (plain ViTs: mmseg's
    VisionTransformer, BEiT, MAE; mmpretrain's)."""
    module = getattr(backbone, 'patch_embed', None)
    return module if isinstance(module, nn.Module) else None


def _probe_channels(backbone, points, probe_shape):
    """Channels of each point's output, from one no-grad forward, and the
    points whose output is tokens (which must have a known grid, see
    :func:`_grid_of`)."""
    if probe_shape is None:
        probe_shape = (1, 3) + _DEFAULT_PROBE_HW
    outputs, handles = {}, []
    embedded = types.SimpleNamespace(grid=None)
    for point in points:
        def record(module, args, kwargs, output, point=point):
            grid = _grid_of(args, kwargs, embedded.grid)
            outputs.setdefault(point, (output, grid))
        handles.append(_submodule(backbone, point).register_forward_hook(
            record, with_kwargs=True))
    if _patch_embed(backbone) is not None:
        handles.append(_patch_embed(backbone).register_forward_hook(
            _RecordGrid(embedded)))
    was_training = backbone.training
    try:
        param = next(backbone.parameters(), None)
        x = torch.zeros(probe_shape, device=None if param is None else
                        param.device)
        backbone.eval()
        with torch.no_grad():
            backbone(x)
    finally:
        backbone.train(was_training)
        for handle in handles:
            handle.remove()
    channels, tokens = {}, set()
    for point in points:
        if point not in outputs:
            raise ValueError(
                f'after={point!r}: {type(backbone).__name__}.forward never '
                f'calls this submodule (probe input {tuple(probe_shape)})')
        out, grid = outputs[point]
        if isinstance(out, torch.Tensor) and out.dim() == 4:
            channels[point] = out.shape[1]
            continue
        if isinstance(out, torch.Tensor) and out.dim() == 3 and grid and \
                _grid_tokens(out, grid) is not None:
            channels[point] = out.shape[2]
            tokens.add(point)
            continue
        got = (f'a tensor of shape {tuple(out.shape)}' if isinstance(
            out, torch.Tensor) else f'a {type(out).__name__}')
        if isinstance(out, torch.Tensor) and out.dim() == 3:
            got += (' (tokens whose (H, W) grid is unknown: the submodule '
                    'takes no hw_shape and the backbone has no patch_embed '
                    'returning one)' if not grid else
                    f' (fewer tokens than its grid {grid} holds)')
        raise ValueError(
            f'after={point!r}: blocks need an (N, C, H, W) tensor or '
            f'(N, L, C) tokens on a known grid, but this submodule outputs '
            f'{got}; choose a point whose output is a feature map or the '
            f'tokens of a transformer block')
    return channels, tokens


#: the keys an insert entry may have; exactly one of the first three
