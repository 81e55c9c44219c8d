"""GCHead: mmseg's GCNet head with mmattn's global context block."""
from mmseg.models.decode_heads.fcn_head import FCNHead
from mmseg.models.decode_heads.gc_head import GCHead as _MMSegGCHead

from ...blocks import GlobalContext
from ...registry import MODELS


@MODELS.register_module()
class GCHead(_MMSegGCHead):
    """Drop-in for mmseg 1.2.2's ``GCHead`` (reached as ``mmattn.GCHead``).

    3x3 ConvModule (in_channels -> channels) -> global context block -> 3x3
    ConvModule -> optional concat with the input and 3x3 ConvModule
    (``concat_input``) -> dropout -> 1x1 classifier. mmseg's forward is
    inherited unchanged; only the block differs:
    :class:`mmattn.blocks.GlobalContext` instead of ``mmcv.cnn.ContextBlock``,
    with the same state-dict keys (``gc_block.*``) and outputs.

    Args:
        ratio (float): bottleneck ratio of the block. Defaults to 1/4.
        pooling_type (str): 'att' or 'avg'. Defaults to 'att'.
        fusion_types (tuple[str]): of 'channel_add', 'channel_mul'.
            Defaults to ('channel_add', ).
        **kwargs: the arguments of mmseg's ``FCNHead`` / ``BaseDecodeHead``;
            ``num_convs`` is fixed to 2, as in mmseg.

    Shapes: inputs as any mmseg head (a tuple of multi-level features);
    output logits (N, num_classes, H, W) at the selected level's size.
    """

    def __init__(self,
                 ratio=1 / 4.,
                 pooling_type='att',
                 fusion_types=('channel_add', ),
                 **kwargs):
        # mmseg's GCHead.__init__ would build (and assert-check) mmcv's
        # block first; build the FCN part directly and let ours validate
        FCNHead.__init__(self, num_convs=2, **kwargs)
        self.ratio = ratio
        self.pooling_type = pooling_type
        self.fusion_types = fusion_types
        self.gc_block = GlobalContext(
            in_channels=self.channels,
            ratio=ratio,
            pooling_type=pooling_type,
            fusion_types=fusion_types)
