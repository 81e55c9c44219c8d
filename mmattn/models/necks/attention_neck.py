"""AttentionNeck: any registered block on chosen levels of a feature pyramid."""
import torch.nn as nn
from mmengine.model import BaseModule

from ...registry import MODELS


@MODELS.register_module()
class AttentionNeck(BaseModule):
    """Apply an attention block to chosen levels of a multi-level feature tuple.

    It has no math of its own: each chosen level gets its own block, built
    from ``block`` with that level's ``in_channels``; other levels pass
    through. Being a neck that maps a tuple to a tuple, it chains after an FPN
    (mmengine builds a list of necks as an ``nn.Sequential``)::

        neck=[dict(type='FPN', in_channels=[256, 512, 1024, 2048],
                   out_channels=256, num_outs=5),
              dict(type='mmattn.AttentionNeck',
                   block=dict(type='mmattn.SalientPositionAttention', k=8),
                   in_channels=256, levels=(2, 3, 4))]

    Args:
        block (dict): config of a shape-preserving block taking
            ``in_channels`` (any mmattn block, or mmcv's ``ContextBlock``...).
        in_channels (int | Sequence[int]): channels of every level, or one
            int when all levels have the same width (FPN outputs).
        levels (Sequence[int], optional): indices of the levels that get a
            block. Default: all levels (requires ``in_channels`` as a list).
        init_cfg (dict, optional): mmengine initialisation config.

    Shapes: a tuple/list of ``(N, C_i, H_i, W_i)`` in, the same shapes out.
    """

    def __init__(self, block, in_channels, levels=None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if not isinstance(block, dict) or 'type' not in block:
            raise TypeError(
                f'block must be a config dict with a type, got {block!r}')
        if levels is None:
            if isinstance(in_channels, int):
                raise ValueError(
                    'levels is required when in_channels is one int; give '
                    'levels=(i, ...) or in_channels as a list per level')
            levels = range(len(in_channels))
        self.levels = tuple(int(i) for i in levels)
        if not self.levels or len(set(self.levels)) != len(self.levels) \
                or min(self.levels) < 0:
            raise ValueError(
                f'levels must be distinct non-negative level indices, got '
                f'{tuple(levels)}')
        if isinstance(in_channels, int):
            channels = {i: in_channels for i in self.levels}
        else:
            in_channels = list(in_channels)
            if max(self.levels) >= len(in_channels):
                raise ValueError(
                    f'levels {self.levels} index past in_channels '
                    f'{in_channels}')
            channels = {i: in_channels[i] for i in self.levels}
        self.blocks = nn.ModuleDict({
            str(i): MODELS.build(dict(block, in_channels=channels[i]))
            for i in self.levels
        })

    def forward(self, inputs):
        if max(self.levels) >= len(inputs):
            raise ValueError(
                f'AttentionNeck has blocks on levels {self.levels} but got '
                f'{len(inputs)} feature levels')
        outs = list(inputs)
        for i in self.levels:
            outs[i] = self.blocks[str(i)](outs[i])
        return tuple(outs)
