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
import torch.nn as nn

from ...registry import MODELS
from .block_hooks import (_DEFAULT_PROBE_HW, InsertedBlocks, _ApplyBlocks,
                          _patch_embed, _probe_channels, _RecordGrid,
                          _report_new_blocks, _submodule)
from .insertion_points import _matching, _normalise

__all__ = ['InsertedBlocks', 'insert_blocks', 'remove_modules',
           'BackboneWithBlocks']


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
