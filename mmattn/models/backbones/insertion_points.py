"""Where blocks go: the points of a backbone named by a submodule name, a
glob or a regex (``after``, ``after_regex``), or by a role (``where=
'residual'|'stage'``), checked and normalised. Used by
:mod:`mmattn.models.backbones.insert`."""
import difflib
import re

import torch.nn as nn


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
