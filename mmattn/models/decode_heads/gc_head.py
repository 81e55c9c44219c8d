"""GCHead: mmseg's GCNet head with mmattn's global context block."""
from ...blocks import GlobalContext
from ...registry import MODELS
from .block_head import BlockHead


@MODELS.register_module()
class GCHead(BlockHead):
    """Drop-in for mmseg 1.2.2's ``GCHead`` (reached as ``mmattn.GCHead``).

    3x3 ConvModule (in_channels -> channels) -> global context block -> 3x3
    ConvModule -> optional concat with the input and 3x3 ConvModule
    (``concat_input``) -> dropout -> 1x1 classifier (:class:`BlockHead`), as
    mmseg's head computes it, built in its order (one seed, the same
    weights); only the block differs:
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

    block_name = 'gc_block'

    def __init__(self,
                 ratio=1 / 4.,
                 pooling_type='att',
                 fusion_types=('channel_add', ),
                 **kwargs):
        super().__init__(**kwargs)
        self.gc_block = GlobalContext(
            in_channels=self.channels,
            ratio=ratio,
            pooling_type=pooling_type,
            fusion_types=fusion_types)

    # mmseg's head stores its block's arguments as attributes; they are read
    # from the block here, so there is one copy of each.

    @property
    def ratio(self):
        return self.gc_block.ratio

    @property
    def pooling_type(self):
        return self.gc_block.pooling_type

    @property
    def fusion_types(self):
        return self.gc_block.fusion_types
