"""CCHead: mmseg's CCNet head with mmattn's criss-cross attention."""
from mmseg.models.decode_heads.cc_head import CCHead as _MMSegCCHead
from mmseg.models.decode_heads.fcn_head import FCNHead

from ...blocks import CrissCrossAttention
from ...checks import check_non_negative_int
from ...registry import MODELS


@MODELS.register_module()
class CCHead(_MMSegCCHead):
    """Drop-in for mmseg 1.2.2's ``CCHead`` (reached as ``mmattn.CCHead``).

    3x3 ConvModule (in_channels -> channels) -> criss-cross attention applied
    ``recurrence`` times with shared weights -> 3x3 ConvModule -> optional
    concat with the input and 3x3 ConvModule (``concat_input``) -> dropout
    -> 1x1 classifier. mmseg's forward is inherited unchanged; only the
    block differs: :class:`mmattn.blocks.CrissCrossAttention` instead of
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

    def __init__(self, recurrence=2, **kwargs):
        check_non_negative_int('recurrence', recurrence)
        # mmseg's CCHead.__init__ would build mmcv's block (and refuse to
        # run without mmcv's compiled ops); build the FCN part directly
        FCNHead.__init__(self, num_convs=2, **kwargs)
        self.recurrence = recurrence
        self.cca = CrissCrossAttention(self.channels)
