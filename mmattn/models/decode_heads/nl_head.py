"""NLHead: mmseg's non-local head built on mmattn's :class:`NonLocal`."""
from ...blocks import NonLocal
from ...registry import MODELS
from .block_head import BlockHead


@MODELS.register_module()
class NLHead(BlockHead):
    """Non-local head, a drop-in for mmseg's ``NLHead`` (reach it as
    ``mmattn.NLHead``).

    3x3 ConvModule (in_channels -> channels) -> :class:`NonLocal` -> 3x3
    ConvModule -> optional concat with the input and 3x3 ConvModule
    (``concat_input``) -> dropout -> 1x1 classifier. Same arguments and
    state-dict keys (``convs.*``, ``nl_block.*``, ``conv_cat.*``,
    ``conv_seg.*``) as mmseg 1.2.2's ``NLHead``, whose checkpoints load
    strictly.

    Args:
        reduction (int): C_i = channels // reduction in the block.
            Defaults to 2.
        use_scale (bool): scale the embedded-gaussian logits by C_i^-0.5.
            Defaults to True.
        mode (str): ``'embedded_gaussian'`` (default), ``'gaussian'``,
            ``'dot_product'`` or ``'concatenation'``.
        sub_sample (bool): 2x2 max-pool the block's keys and values (not in
            mmseg's head, which never sub-samples). Defaults to False.
        **kwargs: the arguments of mmseg's ``FCNHead`` / ``BaseDecodeHead``;
            ``num_convs`` is fixed to 2.

    Shapes: inputs as any mmseg head (a tuple of multi-level features);
    output logits (N, num_classes, H, W) at the selected level's size.
    """

    block_name = 'nl_block'

    def __init__(self,
                 reduction=2,
                 use_scale=True,
                 mode='embedded_gaussian',
                 sub_sample=False,
                 **kwargs):
        super().__init__(**kwargs)
        self.nl_block = NonLocal(
            self.channels,
            sub_sample=sub_sample,
            conv_cfg=self.conv_cfg,
            reduction=reduction,
            use_scale=use_scale,
            norm_cfg=self.norm_cfg,
            mode=mode)

    # mmseg's head stores its block's arguments as attributes; they are read
    # from the block here, so there is one copy of each.

    @property
    def reduction(self):
        return self.nl_block.reduction

    @property
    def use_scale(self):
        return self.nl_block.use_scale

    @property
    def mode(self):
        return self.nl_block.mode
