"""What inserting a block does to a pretrained ResNet at step 0.

Every registered plugin goes after conv3 of every bottleneck of a
ResNet-50 (mmseg's, as mmcv ``plugins=`` place it), whose other weights are
loaded from a checkpoint through the backbone's own
``init_cfg=dict(type='Pretrained')``: the path a fine-tuning config takes,
in which each block keeps its own init. The change of each stage's output
against the plain network, ``||y' - y|| / ||y||`` in eval mode, says what
the block does to the pretrained features before any training: 0 for a
block that starts as the identity (the catalog's ``identity_init``, see
:mod:`mmattn.blocks.catalog`), the scaling of a gate otherwise.

Used by ``tools/analysis_tools/insertion_at_init.py`` (the table in
``docs/pretrained.md``) and by the tests.
"""
import logging
import os.path as osp
import tempfile

import torch

__all__ = ['pretrained_standin', 'stage_outputs', 'insertion_change',
           'insertion_rows', 'format_insertion_table']


def _resnet_cfg(depth, plugin=None, checkpoint=None):
    cfg = dict(type='mmseg.ResNet', depth=depth, style='pytorch')
    if plugin is not None:
        cfg['plugins'] = [dict(cfg=plugin, position='after_conv3')]
    if checkpoint is not None:
        cfg['init_cfg'] = dict(type='Pretrained', checkpoint=checkpoint)
    return cfg


def _build(cfg):
    import mmseg.models  # noqa: F401  (registers mmseg's ResNet)

    import mmattn  # noqa: F401  (registers the blocks)
    from mmattn.registry import MODELS
    return MODELS.build(cfg)


def pretrained_standin(depth=50, seed=0):
    """The state dict of a ResNet whose weights stand in for ImageNet ones
    (none can be downloaded here): mmseg's init, then every BN given
    trained-looking statistics (:func:`mmattn.testing.trained_batch_norms`;
    mmseg's own init zeroes each block's last BN, which would hide what a
    plugin after it does)."""
    from ..testing import trained_batch_norms
    torch.manual_seed(seed)
    return trained_batch_norms(_build(_resnet_cfg(depth))).state_dict()


def stage_outputs(checkpoint, plugin=None, depth=50, size=64, seed=0):
    """The four stage outputs (eval mode) of a ResNet of ``depth`` loaded
    from ``checkpoint`` through ``init_cfg``, with ``plugin`` (an mmcv
    plugin block config) after conv3 of every bottleneck, on a fixed random
    input of ``size`` x ``size``."""
    from mmengine.logging import MMLogger
    net = _build(_resnet_cfg(depth, plugin, checkpoint))
    logger = MMLogger.get_current_instance()
    level = logger.level
    # the per-parameter init report, and the inserted blocks listed as
    # missing from the checkpoint (they keep their own init)
    logger.setLevel(logging.ERROR)
    try:
        torch.manual_seed(seed)  # the blocks' own init
        net.init_weights()
    finally:
        logger.setLevel(level)
    net.eval()
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 3, size, size, generator=generator)
    with torch.no_grad():
        return net(x)


def insertion_change(plain, inserted):
    """``||y' - y|| / ||y||`` per stage."""
    return [float((b - a).norm() / a.norm()) for a, b in zip(plain, inserted)]


def insertion_rows(checkpoint=None, depth=50, size=64, small=False,
                   blocks=None):
    """One row per plugin block: its label, its ``identity_init`` and the
    per-stage change with its ``plugin_cfg`` (``default``) and, where it has
    an identity start, with it (``identity``).

    Args:
        checkpoint (str, optional): ResNet weights (the backbone's keys);
            None: :func:`pretrained_standin`.
        depth (int): ResNet depth (50).
        size (int): input height and width.
        small (bool): add each block's ``small_cfg`` (tests).
        blocks (list[type], optional): defaults to every registered plugin.
    """
    from ..blocks.catalog import label_of, plugin_kwargs, registered_blocks
    with tempfile.TemporaryDirectory() as tmp:
        if checkpoint is None:
            checkpoint = osp.join(tmp, f'resnet{depth}_standin.pth')
            torch.save(pretrained_standin(depth), checkpoint)
        plain = stage_outputs(checkpoint, depth=depth, size=size)
        rows = []
        for cls in blocks or registered_blocks('plugin'):
            start = getattr(cls, 'identity_init', None)
            row = dict(block=cls.__name__, label=label_of(cls),
                       identity_init=start)
            kinds = [('default', False)] + (
                [('identity', True)] if start is not None else [])
            for kind, identity in kinds:
                plugin = dict(type=f'mmattn.{cls.__name__}',
                              **plugin_kwargs(cls, small, identity))
                row[kind] = insertion_change(plain, stage_outputs(
                    checkpoint, plugin, depth=depth, size=size))
            rows.append(row)
    return rows


def _option(start):
    if start is None:
        return 'none'
    return ', '.join(f'`{k}={v!r}`' for k, v in start.items()) or (
        'by default')


def format_insertion_table(rows):
    """Markdown: block, identity start, change of the stage-1 and stage-4
    outputs with the default init and with the identity start."""
    lines = ['| block | identity start | stage 1, default init | '
             'stage 4, default init | stage 4, identity start |',
             '|---|---|---:|---:|---:|']
    for row in rows:
        default = row['default']
        identity = row.get('identity')
        lines.append(
            f"| {row['label']} (`{row['block']}`) | "
            f"{_option(row['identity_init'])} | {default[0]:.3g} | "
            f"{default[-1]:.3g} | "
            f"{'—' if identity is None else f'{identity[-1]:.3g}'} |")
    return '\n'.join(lines)
