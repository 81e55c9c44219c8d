"""Named comparison cases and builders of OpenMMLab entries.

A *case* is a function ``(size, batch) -> List[Entry]`` registered under a name
with :func:`register_case`; ``tools/benchmark.py --case NAME`` measures its
entries side by side, the first one being the anchor of the ratio columns.
``size`` is the ``(H, W)`` of the case's input (a feature map for blocks and
heads, the image for whole models) and ``batch`` its batch size; both have
per-case defaults that the CLI's ``--size``/``--batch`` override.

Adding a case (see ``docs/benchmark.md``)::

    @register_case('spa_block', size=(64, 128),
                   help='our SPA block vs PAM vs NonLocal2d at 512 channels')
    def spa_block(size, batch):
        shape = (batch, 512, *size)
        from mmseg.models.decode_heads.da_head import PAM
        return [
            module_entry(
                dict(type='mmattn.SalientPositionAttention', in_channels=512),
                shape, name='SPA'),
            module_entry(dict(type=PAM, in_channels=512, channels=64), shape),
            module_entry(dict(type='NonLocal2d', in_channels=512), shape),
        ]

This package imports mmseg, mmdet and mmcv inside its functions only (at
module level it needs PyTorch alone), so registering a case costs nothing
until the case runs.

Modules: ``framework`` (registering cases, building entries), and the
cases: ``heads`` (DANet, non-local, SPANet), ``plugins`` (ResNet-50 with each
registered block), ``context`` (ours vs upstream), ``channel_gates`` (SE,
ECA, CBAM vs plain implementations).
"""
from . import channel_gates, context, heads, plugins  # noqa: F401 (register)
from .channel_gates import PlainCBAM, PlainECA, PlainSE  # noqa: F401
from .framework import (CASES, Case, build_module, decode_head_entry,
                        get_case, head_inputs, list_cases, model_entry,
                        module_entry, register_case)
from .plugins import CONV_VARIANTS, PLUGIN_VARIANTS  # noqa: F401

__all__ = [
    'Case', 'CASES', 'register_case', 'get_case', 'list_cases',
    'build_module', 'module_entry', 'decode_head_entry', 'model_entry',
    'head_inputs'
]
