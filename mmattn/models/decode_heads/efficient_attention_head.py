"""Decode heads around the linear-complexity global blocks."""
from ...blocks import EfficientAttention, ExternalAttention
from ...registry import MODELS
from .block_head import BlockHead


@MODELS.register_module()
class EfficientAttentionHead(BlockHead):
    """FCN-style head with an :class:`~mmattn.blocks.EfficientAttention`
    block (Shen et al., WACV 2021): 3x3 ConvModule (in_channels ->
    channels) -> the block -> 3x3 ConvModule -> optional concat with the
    input (``concat_input``) -> dropout -> 1x1 classifier
    (:class:`BlockHead`, the layout of mmseg's NLHead).

    Args:
        key_channels (int, optional): d_k. Defaults to channels // 2.
        value_channels (int, optional): d_v. Defaults to channels // 2.
        num_heads (int): heads of the block. Defaults to 1.
        **kwargs: the arguments of mmseg's ``FCNHead``; ``num_convs`` is
            fixed to 2.

    Shapes: inputs as any mmseg head; output logits (N, num_classes, H, W)
    at the selected level's size.
    """

    block_name = 'efficient_attention'

    def __init__(self, key_channels=None, value_channels=None, num_heads=1,
                 **kwargs):
        super().__init__(**kwargs)
        self.efficient_attention = EfficientAttention(
            self.channels, key_channels=key_channels,
            value_channels=value_channels, num_heads=num_heads)


@MODELS.register_module()
class ExternalAttentionHead(BlockHead):
    """EANet's head (Guo et al., TPAMI 2022) in :class:`BlockHead`'s
    layout: 3x3 ConvModule (in_channels -> channels) -> an
    :class:`~mmattn.blocks.ExternalAttention` block -> 3x3 ConvModule ->
    dropout -> 1x1 classifier, as the authors' segmentation head
    (``fc0``, ``External_attention``, ``fc1`` with Dropout2d(0.1), ``fc2``;
    theirs narrows to 256 channels in ``fc1``, this keeps ``channels``).

    Args:
        memory_units (int): S, the memory units. Defaults to 64.
        **kwargs: the arguments of mmseg's ``FCNHead``; ``num_convs`` is
            fixed to 2.

    Shapes: inputs as any mmseg head; output logits (N, num_classes, H, W)
    at the selected level's size.
    """

    block_name = 'external_attention'

    def __init__(self, memory_units=64, **kwargs):
        super().__init__(**kwargs)
        self.external_attention = ExternalAttention(
            self.channels, memory_units=memory_units,
            norm_cfg=self.norm_cfg or dict(type='BN'))
