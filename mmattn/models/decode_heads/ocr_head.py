"""OCRHead: mmseg's OCR cascade head around :class:`ObjectContext`."""
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.cascade_decode_head import \
    BaseCascadeDecodeHead

from ...blocks import ObjectContext
from ...checks import check_positive_int, check_real
from ...registry import MODELS
from .checked_inputs import CheckedInputsMixin


@MODELS.register_module()
class OCRHead(CheckedInputsMixin, BaseCascadeDecodeHead):
    """Object-contextual representations head (OCRNet), reached as
    ``mmattn.OCRHead``; a drop-in for mmseg 1.2.2's ``OCRHead``.

    3x3 ConvModule ``bottleneck`` (in_channels -> channels) ->
    :class:`ObjectContext` with the previous stage's logits -> dropout ->
    1x1 classifier. It is the second stage of a ``CascadeEncoderDecoder``
    whose first stage (an ``FCNHead``) gives the soft object regions.

    Same constructor arguments, state-dict keys (and their order) and
    outputs as mmseg's head for every ``scale`` mmseg can run (scale <= 1).
    Difference: mmseg's ``scale > 1`` also max-pools the queries and then
    fails (a channel or reshape mismatch, and a ``resize`` without a size);
    here ``scale`` is only what mmseg documents, the multiplier of the
    logits in the soft-region softmax, for any finite value. The authors'
    separate query down-sampling option is not offered.

    Args:
        ocr_channels (int): width of the object attention's queries, keys
            and values (256 in mmseg's configs).
        scale (float): multiplier of the previous logits before the softmax
            over positions. Defaults to 1.
        **kwargs: the arguments of mmseg's ``BaseDecodeHead``
            (``in_channels``, ``channels``, ``num_classes``, ``in_index``,
            ``input_transform``, ``norm_cfg``, ``dropout_ratio``, ...).

    Shapes: ``forward(inputs, prev_output)``: inputs as any mmseg head (a
    tuple of multi-level features), prev_output the previous stage's logits
    (N, K, H, W) at the size of the selected features; output logits
    (N, num_classes, H, W).
    """

    def __init__(self, ocr_channels, scale=1, **kwargs):
        check_positive_int('ocr_channels', ocr_channels)
        check_real('scale', scale)
        super().__init__(**kwargs)
        self.ocr_channels = ocr_channels
        self.scale = scale
        self.object_context_block = ObjectContext(
            self.channels,
            ocr_channels,
            region_scale=scale,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        self.bottleneck = ConvModule(
            self.in_channels,
            self.channels,
            3,
            padding=1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)

    @property
    def spatial_gather_module(self):
        """mmseg's name for the soft-region gather, which here is a part of
        :class:`ObjectContext` (``object_context_block.spatial_gather``)."""
        return self.object_context_block.spatial_gather

    def forward(self, inputs, prev_output):
        x = self._transform_inputs(inputs)
        feats = self.bottleneck(x)
        return self.cls_seg(self.object_context_block(feats, prev_output))
