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
tensor (Swin's stages output tuples of ``(N, L, C)`` tokens: a clear
``ValueError`` names the point).

Checkpoints: a checkpoint that holds *none* of the ``inserted.*`` keys (the
plain backbone's pretrained weights, or a full model trained without the
blocks) loads as before; the blocks keep their initialisation, their keys
are taken out of the missing keys (so torch's ``strict=True`` passes and
mmengine logs no wall of missing keys), and one line names them as new. A
checkpoint holding some of them is left to the normal missing-key report.
"""
import difflib
import re

import torch
import torch.nn as nn
from mmengine.logging import print_log

from ...registry import MODELS

__all__ = ['InsertedBlocks', 'insert_blocks', 'remove_modules',
           'BackboneWithBlocks']

_DEFAULT_PROBE_HW = (64, 64)


class _ApplyBlocks:
    """Forward hook: a point's output goes through its blocks in order.

    An object, not a closure, so that ``copy.deepcopy`` of the backbone
    rebinds it to the copied ``InsertedBlocks``.
    """

    def __init__(self, inserted, point):
        self.inserted = inserted
        self.point = point

    def __call__(self, module, args, output):
        for key in self.inserted.keys_at(self.point):
            output = self.inserted[key](output)
        return output


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


def _probe_channels(backbone, points, probe_shape):
    """Channels of each point's output, from one no-grad forward."""
    if probe_shape is None:
        probe_shape = (1, 3) + _DEFAULT_PROBE_HW
    outputs, handles = {}, []
    for point in points:
        def record(module, args, output, point=point):
            outputs.setdefault(point, output)
        handles.append(_submodule(backbone, point).register_forward_hook(
            record))
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
    channels = {}
    for point in points:
        if point not in outputs:
            raise ValueError(
                f'after={point!r}: {type(backbone).__name__}.forward never '
                f'calls this submodule (probe input {tuple(probe_shape)})')
        out = outputs[point]
        if not isinstance(out, torch.Tensor) or out.dim() != 4:
            got = (f'a tensor of shape {tuple(out.shape)}' if isinstance(
                out, torch.Tensor) else f'a {type(out).__name__}')
            raise ValueError(
                f'after={point!r}: blocks need an (N, C, H, W) tensor, but '
                f'this submodule outputs {got}; choose a point whose output '
                f'is a feature map')
        channels[point] = out.shape[1]
    return channels


def _normalise(insert):
    if isinstance(insert, dict):
        insert = [insert]
    if not isinstance(insert, (list, tuple)) or not insert:
        raise TypeError(
            f'insert must be a non-empty list of dict(after=..., block=...), '
            f'got {insert!r}')
    entries = []
    for item in insert:
        if not isinstance(item, dict) or set(item) != {'after', 'block'}:
            raise TypeError(
                f'each insert entry must be dict(after=..., block=...), got '
                f'{item!r}')
        block = item['block']
        if not isinstance(block, dict) or 'type' not in block:
            raise TypeError(
                f'block must be a config dict with a type, got {block!r}')
        after = item['after']
        afters = [after] if isinstance(after, str) else list(after)
        if not afters:
            raise ValueError(f'after is empty in {item!r}')
        entries += [(a, block) for a in afters]
    return entries


def insert_blocks(backbone, insert, probe_shape=None):
    """Attach blocks after named submodules of ``backbone``, in place.

    Args:
        backbone (nn.Module): any module taking one image tensor.
        insert (list[dict]): entries ``dict(after=name_or_names,
            block=block_cfg)``. Each named point gets its own block built
            from ``block`` with the point's ``in_channels``; entries that
            share a point apply in list order.
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
    entries = _normalise(insert)
    points = list(dict.fromkeys(a for a, _ in entries))
    for point in points:
        _submodule(backbone, point)  # fail on a bad name before the probe
    channels = _probe_channels(backbone, points, probe_shape)
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
            _ApplyBlocks(inserted, point))
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
    try:
        regex = re.compile(pattern)
    except re.error as err:
        raise ValueError(f'remove={pattern!r} is not a valid regular '
                         f'expression: {err}') from None
    names = [n for n, _ in backbone.named_modules()
             if n and regex.fullmatch(n)]
    if not names:
        all_names = [n for n, _ in backbone.named_modules() if n]
        close = difflib.get_close_matches(pattern, all_names, n=5,
                                          cutoff=0.5)
        raise ValueError(f'remove={pattern!r} matches no submodule of '
                         f'{type(backbone).__name__}; close names: {close}')
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
