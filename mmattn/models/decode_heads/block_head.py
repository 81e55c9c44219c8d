"""BlockHead: the FCN-style head around one attention block that NLHead,
GCHead, CCHead and SPAHead share."""
import torch
from mmseg.models.decode_heads.fcn_head import FCNHead

from .checked_inputs import CheckedInputsMixin


class BlockHead(CheckedInputsMixin, FCNHead):
    """3x3 ConvModule (in_channels -> channels) -> the block -> 3x3
    ConvModule -> optional concat with the input and 3x3 ConvModule
    (``concat_input``) -> dropout -> 1x1 classifier.

    This is the layout of mmseg's NLHead, GCHead and CCHead (state-dict keys
    ``convs.0``, ``convs.1``, ``conv_cat``, ``conv_seg`` and the block's),
    written once. A subclass names the attribute that holds its block
    (``block_name``, which fixes its state-dict prefix) and builds the block
    in ``__init__`` after calling this one, so that one seed gives the same
    weights as mmseg's head; it overrides :meth:`apply_block` when the block
    is not applied once (CCHead's recurrence).

    Args:
        **kwargs: the arguments of mmseg's ``FCNHead`` / ``BaseDecodeHead``
            (``in_channels``, ``channels``, ``num_classes``,
            ``concat_input``, ``norm_cfg``, ...); ``num_convs`` is fixed to
            2 (conv, block, conv).

    Shapes: inputs as any mmseg head (a tuple of multi-level features);
    output logits (N, num_classes, H, W) at the selected level's size.
    """

    #: the attribute holding the block (its state-dict prefix)
    block_name = 'block'

    def __init__(self, **kwargs):
        num_convs = kwargs.pop('num_convs', 2)
        if num_convs != 2:
            raise ValueError(
                f'{type(self).__name__} has num_convs=2 (conv, block, '
                f'conv), got num_convs={num_convs!r}')
        super().__init__(num_convs=2, **kwargs)

    def apply_block(self, x):
        """The block on the first conv's output (N, channels, H, W)."""
        return getattr(self, self.block_name)(x)

    def forward(self, inputs):
        x = self._transform_inputs(inputs)
        output = self.convs[1](self.apply_block(self.convs[0](x)))
        if self.concat_input:
            output = self.conv_cat(torch.cat([x, output], dim=1))
        return self.cls_seg(output)
