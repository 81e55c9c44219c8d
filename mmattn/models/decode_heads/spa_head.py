"""SPAHead: an mmseg decode head around :class:`SalientPositionAttention`."""
from ...blocks import SalientPositionAttention
from ...checks import renamed_arguments
from ...registry import MODELS
from .block_head import BlockHead


@MODELS.register_module()
class SPAHead(BlockHead):
    """Salient-positions attention head, laid out like mmseg's context heads.

    3x3 ConvModule (in_channels -> channels) -> SalientPositionAttention ->
    3x3 ConvModule -> optional concat with the input and 3x3 ConvModule
    (``concat_input``) -> dropout -> 1x1 classifier. This is mmseg's NLHead
    with the non-local block swapped, so the two compare like for like.

    Args:
        hidden_channels (int, optional): C' of the block (default
            channels // 2). Formerly ``inter_channels`` (deprecated name).
        k (int): salient positions. Defaults to 8.
        adaptive (bool): adaptive k = max(1, H*W // k_divisor).
        k_divisor (int): positions per selected position for the adaptive k
            (not a channel reduction). Defaults to 16. Formerly ``reduction``
            (deprecated name, accepted with a warning).
        sub_sample (bool): sub-sample g by 2 inside the block.
        zero_init (bool): start the block as the identity.
        use_scale (bool): divide the block's energies by sqrt(k) (see
            :class:`SalientPositionAttention`). Default False, the paper's.
        **kwargs: the arguments of mmseg's ``FCNHead`` / ``BaseDecodeHead``
            (``in_channels``, ``channels``, ``num_classes``, ``concat_input``,
            ``norm_cfg``, ...); ``num_convs`` is fixed to 2.

    Shapes: inputs as any mmseg head (a tuple of multi-level features);
    output logits (N, num_classes, H, W) at the selected level's size.
    """

    block_name = 'spa_block'

    @renamed_arguments(reduction='k_divisor',
                       inter_channels='hidden_channels')
    def __init__(self,
                 hidden_channels=None,
                 k=8,
                 adaptive=False,
                 k_divisor=16,
                 sub_sample=False,
                 zero_init=False,
                 use_scale=False,
                 **kwargs):
        super().__init__(**kwargs)
        self.spa_block = SalientPositionAttention(
            self.channels,
            hidden_channels=hidden_channels,
            k=k,
            adaptive=adaptive,
            k_divisor=k_divisor,
            sub_sample=sub_sample,
            norm_cfg=self.norm_cfg,
            zero_init=zero_init,
            use_scale=use_scale)
