"""Insert attention blocks after named submodules of any backbone.

``type='mmattn.BackboneWithBlocks'`` builds the backbone it is given and
returns *that backbone*, with the blocks attached under ``inserted`` and
applied by forward hooks::

    backbone=dict(
        type='mmattn.BackboneWithBlocks',
        backbone=dict(type='ResNetV1c', depth=18, ...),
        insert=[
            dict(after=['layer3.0', 'layer3.1'],
                 block=dict(type='mmattn.SqueezeExcitation', reduction=16)),
            dict(after='layer4.1',
                 block=dict(type='mmattn.EfficientChannelAttention')),
        ])

Why return the backbone itself instead of a module wrapping it: a wrapper
would move every key under a prefix (``backbone.backbone.layer1...``) or
need ``state_dict`` overrides that mmengine's loader bypasses. Returning the
backbone keeps its class, its ``init_cfg``/``pretrained`` handling, its
``train()``/``norm_eval``/``frozen_stages`` logic and every state-dict key;
the only additions are ``inserted.<point>__<i>.*``. Hooks live in the
module's ``_forward_hooks`` and are objects (not closures), so ``deepcopy``
(EMA) and pickling carry them over pointing at the copied blocks.

Channels are inferred by one probe forward at build time (no gradient, eval
mode, a ``1 x C_in x 64 x 64`` zero image, ``C_in`` the backbone config's
``in_channels`` or 3; change with ``probe_shape``): a forward hook records
the output of every named point. Introspection of ``out_channels``
attributes would be wrong for blocks that end in a norm, a concat or an
upsample, and impossible for transformers; the probe works for any
backbone and also proves that the point's output is an ``(N, C, H, W)``
map or ``(N, L, C)`` tokens on a known grid (else a ``ValueError`` names
the point: a Swin stage outputs a tuple, its blocks output tokens).

Transformers: a point whose output is ``(N, L, C)`` tokens gets its blocks
on the ``(N, C, H, W)`` grid of the tokens and is laid back to tokens
after them. The grid is the ``hw_shape`` the submodule is called with
(Swin's and MiT's blocks) or, in a plain ViT (mmseg's VisionTransformer,
BEiT, MAE; mmpretrain's), the one its ``patch_embed`` returned; the
``L - H * W`` leading tokens (the class token) pass unchanged.

Checkpoints: a checkpoint that holds *none* of the ``inserted.*`` keys (the
plain backbone's pretrained weights, or a full model trained without the
blocks) loads as before; the blocks keep their initialisation, their keys
are taken out of the missing keys (so torch's ``strict=True`` passes and
mmengine logs no wall of missing keys), and one line names them as new. A
checkpoint holding some of them is left to the normal missing-key report.
"""
import difflib
import re
import types

import torch
import torch.nn as nn
from mmengine.logging import print_log

from ...registry import MODELS

__all__ = ['InsertedBlocks', 'insert_blocks', 'remove_modules',
           'BackboneWithBlocks']

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
_ADDRESS_KEYS = ('after', 'after_regex', 'where')
_ROLES = ('residual', 'stage')


def _glob_regex(pattern):
    """A regular expression for a submodule-name glob: ``*`` is any run of
    characters within one dotted part, ``**`` any run across parts, ``?``
    one character but a dot, ``[...]`` a character class."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith('**', i):
            out.append('.*')
            i += 2
            continue
        if char == '*':
            out.append(r'[^.]*')
        elif char == '?':
            out.append(r'[^.]')
        elif char == '[':
            end = pattern.find(']', i + 1)
            if end < 0:
                raise ValueError(f'after={pattern!r}: unclosed [ in the '
                                 f'pattern')
            out.append(pattern[i:end + 1])
            i = end + 1
            continue
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile(''.join(out))


def _no_match(backbone, address, pattern):
    names = [n for n, _ in backbone.named_modules() if n]
    close = difflib.get_close_matches(
        re.sub(r'[*?\[\]\\^$+(){}|]', '', pattern), names, n=5, cutoff=0.4)
    return ValueError(
        f'{address}={pattern!r} matches no submodule of '
        f'{type(backbone).__name__}; close names: {close}')


def _matching(backbone, address, pattern):
    """Names of ``backbone``'s submodules that ``pattern`` (a glob for
    ``after``, a regular expression for ``after_regex`` and ``remove``)
    matches in full, in module order; errors name ``address``."""
    if address == 'after':
        regex = _glob_regex(pattern)
    else:
        try:
            regex = re.compile(pattern)
        except re.error as err:
            raise ValueError(f'{address}={pattern!r} is not a valid '
                             f'regular expression: {err}') from None
    names = [n for n, _ in backbone.named_modules()
             if n and regex.fullmatch(n)]
    if not names:
        raise _no_match(backbone, address, pattern)
    return names


def _stage_names(backbone):
    """The points after each stage of the backbone, in order:
    ``res_layers`` of the ResNet family (mmseg, mmdet, mmpretrain); the
    ``stage*`` entries of ``layers`` (mmdet's CSPDarknet and CSPNeXt); each
    of ``stages`` (mmpretrain's ConvNeXt), or its last block where a stage
    has ``blocks`` (Swin, whose stage outputs a tuple); the last encoder
    layer of each of ``layers`` where those are lists (MiT, SegFormer's:
    patch embedding, layers, norm)."""
    names = getattr(backbone, 'res_layers', None)
    layers = getattr(backbone, 'layers', None)
    if names is None:
        names = [n for n in layers or []
                 if isinstance(n, str) and n.startswith('stage')] or None
    stages = getattr(backbone, 'stages', None)
    if names is None and isinstance(stages, nn.ModuleList):
        names = [f'stages.{i}.blocks.{len(stage.blocks) - 1}'
                 if isinstance(getattr(stage, 'blocks', None), nn.ModuleList)
                 else f'stages.{i}' for i, stage in enumerate(stages)]
    if names is None and isinstance(layers, nn.ModuleList) and len(
            layers) and all(isinstance(layer, nn.ModuleList) and len(layer) > 1
                            and isinstance(layer[1], nn.ModuleList)
                            for layer in layers):
        names = [f'layers.{i}.1.{len(layer[1]) - 1}'
                 for i, layer in enumerate(layers)]
    if not names:
        raise ValueError(
            f"where='stage' needs a backbone that lists its stages "
            f"(res_layers: the ResNet family; layers: CSPDarknet/CSPNeXt, "
            f"MiT; stages: ConvNeXt, Swin); {type(backbone).__name__} has "
            f"none (a plain ViT has no stages): give after=[names]")
    return list(names)


def _residual_points(backbone):
    """(stage index, name) of the last norm on each residual branch: norm3
    of a Bottleneck, norm2 of a BasicBlock (their outputs are the branch
    right before the shortcut is added). The stage index is None in a
    backbone that lists no stages (HRNet's branches)."""
    try:
        stages = _stage_names(backbone)
    except ValueError:
        stages = None
    points = []
    for name, module in backbone.named_modules():
        norm = getattr(module, 'norm3_name', None) or (
            getattr(module, 'norm2_name', None)
            if hasattr(module, 'norm1_name') else None)
        if not norm or not hasattr(module, 'downsample'):
            continue
        stage = None if stages is None else next(
            (i for i, s in enumerate(stages) if name.startswith(s + '.')),
            None)
        if stages is None or stage is not None:
            points.append((stage, f'{name}.{norm}'))
    if not points:
        raise ValueError(
            f"where='residual' found no residual blocks (Bottleneck or "
            f"BasicBlock with norm names) in {type(backbone).__name__}: "
            f"give after=[names]")
    return points


def _role_points(backbone, role, stages):
    if role not in _ROLES:
        raise ValueError(f'where must be one of {_ROLES}, got {role!r}')
    if role == 'stage':
        points = list(enumerate(_stage_names(backbone)))
    else:
        points = _residual_points(backbone)
    if stages is None:
        return [name for _, name in points]
    num_stages = len(_stage_names(backbone))  # names the backbone if none
    if (not isinstance(stages, (list, tuple)) or len(stages) != num_stages
            or not all(isinstance(b, bool) for b in stages)):
        raise ValueError(
            f'stages must be a tuple of {num_stages} bools (one per stage '
            f'of {type(backbone).__name__}), got {stages!r}')
    return [name for stage, name in points if stages[stage]]


def _normalise(insert, backbone):
    """``(point, block_cfg)`` pairs in application order."""
    if isinstance(insert, dict):
        insert = [insert]
    if not isinstance(insert, (list, tuple)) or not insert:
        raise TypeError(
            f'insert must be a non-empty list of dict(after=..., block=...), '
            f'got {insert!r}')
    entries = []
    for item in insert:
        addresses = [k for k in _ADDRESS_KEYS
                     if isinstance(item, dict) and k in item]
        allowed = {'block', *addresses}
        if addresses == ['where']:
            allowed.add('stages')
        if (not isinstance(item, dict) or len(addresses) != 1
                or 'block' not in item or not set(item) <= allowed):
            raise TypeError(
                'each insert entry must be dict(block=..., and one of '
                'after=names or globs, after_regex=regex, '
                "where='residual'|'stage' [with stages=(...)]), got "
                f'{item!r}')
        blocks = item['block']
        blocks = [blocks] if isinstance(blocks, dict) else blocks
        if not isinstance(blocks, (list, tuple)) or not blocks or not all(
                isinstance(b, dict) and 'type' in b for b in blocks):
            raise TypeError(
                f'block must be a config dict with a type, or a list of '
                f'them (applied in order), got {item["block"]!r}')
        address = addresses[0]
        if address == 'where':
            points = _role_points(backbone, item['where'], item.get('stages'))
        else:
            patterns = item[address]
            patterns = [patterns] if isinstance(patterns, str) else list(
                patterns)
            if not patterns:
                raise ValueError(f'{address} is empty in {item!r}')
            points = []
            for pattern in patterns:
                if not isinstance(pattern, str) or not pattern:
                    raise TypeError(f'{address} entries must be non-empty '
                                    f'strings, got {pattern!r}')
                if address == 'after' and not re.search(r'[*?\[]', pattern):
                    points.append(pattern)  # a plain name: checked later
                else:
                    points += _matching(backbone, address, pattern)
        entries += [(point, block) for point in points for block in blocks]
    return entries


def insert_blocks(backbone, insert, probe_shape=None):
    """Attach blocks after named submodules of ``backbone``, in place.

    Args:
        backbone (nn.Module): any module taking one image tensor.
        insert (list[dict]): entries ``dict(<address>, block=block_cfg
            or [block_cfgs])``, the address one of: ``after=`` a submodule
            name, a glob (``'layer*.*.bn3'``: ``*`` within a dotted part,
            ``**`` across parts) or a list of them; ``after_regex=`` a
            regular expression matched in full against the names;
            ``where='residual'`` (the residual branch of every Bottleneck
            and BasicBlock, before the shortcut is added: after its last
            norm) or ``where='stage'`` (after every stage), each with an
            optional ``stages=(bool, ...)``. Each point gets its own blocks,
            built with the point's ``in_channels``; several blocks at one
            point (a list, or several entries) apply in the order given.
        probe_shape (tuple, optional): input of the channel probe.
            Default ``(1, 3, 64, 64)``.

    Returns:
        nn.Module: ``backbone`` itself, with ``backbone.inserted``
        (:class:`InsertedBlocks`) and one forward hook per point.
    """
    if hasattr(backbone, 'inserted'):
        raise ValueError(
            f'{type(backbone).__name__} already has an attribute '
            f'`inserted`; blocks can be inserted once')
    entries = _normalise(insert, backbone)
    points = list(dict.fromkeys(a for a, _ in entries))
    for point in points:
        _submodule(backbone, point)  # fail on a bad name before the probe
    channels, tokens = _probe_channels(backbone, points, probe_shape)
    inserted = InsertedBlocks()
    for point, block in entries:
        inserted.add(point,
                     MODELS.build(dict(block, in_channels=channels[point])))
    param = next(backbone.parameters(), None)
    if param is not None:
        inserted.to(param.device)
    backbone.inserted = inserted
    inserted.register_load_state_dict_post_hook(_report_new_blocks)
    for point in points:
        _submodule(backbone, point).register_forward_hook(
            _ApplyBlocks(inserted, point), with_kwargs=True)
    if tokens and _patch_embed(backbone) is not None:  # a ViT's grid
        _patch_embed(backbone).register_forward_hook(_RecordGrid(inserted))
    return backbone


def remove_modules(backbone, pattern):
    r"""Replace every submodule whose full name matches ``pattern`` (a
    regular expression, matched in full) by ``nn.Identity``, in place.

    For layouts a stock backbone cannot express: SK-ResNet as the authors
    built it has no norm and ReLU after the SK convolution, but a
    Bottleneck's ``dcn=`` slot keeps its ``bn2`` and ReLU after whatever
    conv it holds; ``remove_modules(resnet, r'layer\d+\.\d+\.bn2')`` drops
    the norms (the ReLU is then a no-op: an SK output is a convex
    combination of ReLU outputs). Their state-dict keys go with them.

    Args:
        backbone (nn.Module): the module to edit.
        pattern (str): regular expression over names from
            ``named_modules()``, e.g. ``r'layer\d+\.\d+\.bn2'``.

    Returns:
        list[str]: the names replaced, in order.

    Raises:
        ValueError: naming ``pattern`` when it matches nothing (with the
            closest names) or is not a valid regular expression.
    """
    if not isinstance(pattern, str) or not pattern:
        raise TypeError(f'remove must be a non-empty regular expression '
                        f'string, got {pattern!r}')
    names = _matching(backbone, 'remove', pattern)
    for name in names:
        parent, _, child = name.rpartition('.')
        owner = backbone.get_submodule(parent) if parent else backbone
        setattr(owner, child, nn.Identity())
    return names


def BackboneWithBlocks(backbone, insert=None, pretrained=None, init_cfg=None,
                       probe_shape=None, remove=None):
    r"""Build ``backbone`` and insert blocks after its named submodules.

    Registered as ``mmattn.BackboneWithBlocks``. It returns the built
    backbone itself (its own class, its own state-dict keys plus
    ``inserted.*``), see :func:`insert_blocks` and the module docstring.

    Args:
        backbone (dict): config of any registered backbone (resolved in the
            current default scope: ``ResNetV1c`` under mmseg, ``CSPDarknet``
            under mmdet; or a scoped name ``mmdet.CSPDarknet``).
        insert (list[dict]): ``dict(after='layer2.1' or [names...],
            block=dict(type='mmattn.SqueezeExcitation', ...))`` entries.
        pretrained (str, optional): passed on to the backbone (mmseg's
            ``EncoderDecoder`` sets ``backbone.pretrained`` from
            ``model.pretrained``).
        init_cfg (dict, optional): passed on to the backbone.
        probe_shape (tuple, optional): input of the channel probe. Default
            ``(1, in_channels, 64, 64)``, ``in_channels`` from the backbone
            config (3 if it has none).
        remove (str, optional): regular expression of submodule names
            replaced by ``nn.Identity`` before the blocks go in (see
            :func:`remove_modules`), e.g. ``r'layer\d+\.\d+\.bn2'`` for
            SK-ResNet without the norm after the SK convolution. At least
            one of ``insert`` and ``remove`` must be given.
    """
    if insert is None and remove is None:
        raise TypeError('BackboneWithBlocks needs insert=[...] or remove=..., '
                        'got neither')
    if not isinstance(backbone, dict) or 'type' not in backbone:
        raise TypeError(
            f'backbone must be a config dict with a type, got {backbone!r}')
    backbone = dict(backbone)
    for key, value in (('pretrained', pretrained), ('init_cfg', init_cfg)):
        if value is None:
            continue
        if backbone.get(key) is not None and backbone[key] != value:
            raise ValueError(
                f'{key} is given both to BackboneWithBlocks ({value!r}) and '
                f'to its backbone ({backbone[key]!r}); give it once')
        backbone[key] = value
    if probe_shape is None:
        probe_shape = (1, backbone.get('in_channels', 3)) + _DEFAULT_PROBE_HW
    built = MODELS.build(backbone)
    if remove is not None:
        remove_modules(built, remove)
    if insert is None:
        return built
    return insert_blocks(built, insert, probe_shape)


MODELS.register_module(name='BackboneWithBlocks', module=BackboneWithBlocks)
