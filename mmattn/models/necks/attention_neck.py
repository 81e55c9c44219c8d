"""AttentionNeck: registered blocks on chosen levels of a feature pyramid."""
from mmengine.model import BaseModule, ModuleDict, Sequential

from ...registry import MODELS


def _block_configs(block):
    """``block`` as a non-empty list of config dicts, or a TypeError."""
    configs = list(block) if isinstance(block, (list, tuple)) else [block]
    if not configs or not all(
            isinstance(cfg, dict) and 'type' in cfg for cfg in configs):
        raise TypeError(
            'block must be a config dict with a type, or a non-empty list '
            f'of them, got {block!r}')
    return configs


@MODELS.register_module()
class AttentionNeck(BaseModule):
    """Apply attention blocks to chosen levels of a multi-level feature tuple.

    It has no math of its own: each chosen level gets its own block (or its
    own chain of blocks), built from ``block`` with that level's
    ``in_channels``; other levels pass through. Being a neck that maps a
    tuple to a tuple, it chains after an FPN (mmengine builds a list of necks
    as an ``nn.Sequential``)::

        neck=[dict(type='FPN', in_channels=[256, 512, 1024, 2048],
                   out_channels=256, num_outs=5),
              dict(type='mmattn.AttentionNeck',
                   block=dict(type='mmattn.SalientPositionAttention', k=8),
                   in_channels=256, levels=(2, 3, 4))]

    A list of blocks is applied in order at every chosen level, e.g. DANet's
    position then channel attention:
    ``block=[dict(type='mmattn.PositionAttention'),
    dict(type='mmattn.ChannelAttention')]``. The chain is sequential rather
    than DANet head's parallel sum because two residual blocks in sequence
    that each start as the identity keep the whole neck the identity at step
    0, which a sum of two (2x) would not.

    Args:
        block (dict | list[dict]): config of a shape-preserving block taking
            ``in_channels`` (any mmattn block, or mmcv's ``ContextBlock``...),
            or a list of such configs applied in sequence.
        in_channels (int | Sequence[int]): channels of every level, or one
            int when all levels have the same width (FPN outputs).
        levels (Sequence[int], optional): indices of the levels that get a
            block. Default: all levels (requires ``in_channels`` as a list).
        init_cfg (dict, optional): mmengine initialisation config.

    Shapes: a tuple/list of ``(N, C_i, H_i, W_i)`` in, the same shapes out.

    ``blocks[str(level)]`` is the block itself for one config, and an
    ``nn.Sequential`` of the blocks for a list (state-dict keys
    ``blocks.<level>.<position>.*``).
    """

    def __init__(self, block, in_channels, levels=None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        configs = _block_configs(block)
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

        def build(level):
            chain = [
                MODELS.build(dict(cfg, in_channels=channels[level]))
                for cfg in configs
            ]
            # one dict keeps the block unwrapped, so its state-dict keys stay
            # blocks.<level>.* as before lists were accepted
            return chain[0] if isinstance(block, dict) else Sequential(*chain)

        # mmengine's containers: init_weights() reaches each block's own
        # after this neck's init_cfg (a zero start survives it)
        self.blocks = ModuleDict(
            {str(i): build(i)
             for i in self.levels})

    def forward(self, inputs):
        if max(self.levels) >= len(inputs):
            raise ValueError(
                f'AttentionNeck has blocks on levels {self.levels} but got '
                f'{len(inputs)} feature levels')
        outs = list(inputs)
        for i in self.levels:
            outs[i] = self.blocks[str(i)](outs[i])
        return tuple(outs)
