"""CCHead: mmseg's CCNet head with mmattn's criss-cross attention."""
from ...blocks import CrissCrossAttention
from ...checks import check_non_negative_int
from ...registry import MODELS
from .block_head import BlockHead


@MODELS.register_module()
class CCHead(BlockHead):
    """Drop-in for mmseg 1.2.2's ``CCHead`` (reached as ``mmattn.CCHead``).

    3x3 ConvModule (in_channels -> channels) -> criss-cross attention applied
    ``recurrence`` times with shared weights -> 3x3 ConvModule -> optional
    concat with the input and 3x3 ConvModule (``concat_input``) -> dropout
    -> 1x1 classifier (:class:`BlockHead`), as mmseg's head computes it,
    built in its order (one seed, the same weights); only the block differs: :class:`mmattn.blocks.CrissCrossAttention` instead of
    ``mmcv.ops.CrissCrossAttention``, with the same state-dict keys
    (``cca.*``) and outputs, and no need for mmcv's compiled ops.

    Args:
        recurrence (int): times the block is applied, >= 0. Defaults to 2
            (the paper's R = 2).
        **kwargs: the arguments of mmseg's ``FCNHead`` / ``BaseDecodeHead``
            (``in_channels``, ``channels``, ``num_classes``,
            ``concat_input``, ``norm_cfg``, ...); ``num_convs`` is fixed to
            2, as in mmseg.

    Shapes: inputs as any mmseg head (a tuple of multi-level features);
    output logits (N, num_classes, H, W) at the selected level's size.
    """

    block_name = 'cca'

    def __init__(self, recurrence=2, **kwargs):
        check_non_negative_int('recurrence', recurrence)
        super().__init__(**kwargs)
        self.recurrence = recurrence
        self.cca = CrissCrossAttention(self.channels)

    def apply_block(self, x):
        """The block ``recurrence`` times, with shared weights."""
        for _ in range(self.recurrence):
            x = self.cca(x)
        return x
