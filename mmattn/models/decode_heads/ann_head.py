"""ANNHead: mmseg's asymmetric non-local head built on mmattn's AFNB and
APNB blocks."""
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead

from ...blocks import AsymmetricFusionNonLocal, AsymmetricPyramidNonLocal
from ...registry import MODELS
from .checked_inputs import CheckedInputsMixin


@MODELS.register_module()
class ANNHead(CheckedInputsMixin, BaseDecodeHead):
    """Asymmetric non-local head, a drop-in for mmseg's ``ANNHead`` (reach it
    as ``mmattn.ANNHead``).

    Inputs: two levels, ``(low_feats, high_feats)`` (the paper's stage 4 and
    5). AFNB fuses them (out: high_in_channels) -> dropout -> 3x3 ConvModule
    to ``channels`` -> APNB -> dropout -> 1x1 classifier. Same arguments and
    state-dict keys (``fusion.*``, ``bottleneck.*``, ``context.*``,
    ``conv_seg.*``) as mmseg 1.2.2's ``ANNHead``, whose checkpoints load
    strictly.

    Args:
        project_channels (int): width of keys, queries and values in both
            blocks (256 in the paper).
        query_scales (tuple[int]): one attention per scale, summed, in each
            block. Defaults to (1,). Scales > 1 max-pool the queries and
            upsample the context (mmseg's forward fails for them).
        key_pool_scales (tuple[int]): pyramid pool sizes of keys and values.
            Defaults to (1, 3, 6, 8).
        **kwargs: the arguments of mmseg's ``BaseDecodeHead``;
            ``in_channels`` must list two levels, ``input_transform`` is
            fixed to ``'multiple_select'``.

    Shapes: inputs as any mmseg head; output logits (N, num_classes, H, W)
    at the size of ``high_feats``.
    """

    def __init__(self,
                 project_channels,
                 query_scales=(1, ),
                 key_pool_scales=(1, 3, 6, 8),
                 **kwargs):
        super().__init__(input_transform='multiple_select', **kwargs)
        if len(self.in_channels) != 2:
            raise ValueError(
                f'in_channels must list two levels (low, high), got '
                f'{self.in_channels!r}')
        low_in_channels, high_in_channels = self.in_channels
        self.project_channels = project_channels
        layers = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                      act_cfg=self.act_cfg)
        self.fusion = AsymmetricFusionNonLocal(
            low_in_channels, high_in_channels,
            out_channels=high_in_channels,
            hidden_channels=project_channels, query_scales=query_scales,
            key_pool_scales=key_pool_scales, **layers)
        self.bottleneck = ConvModule(
            high_in_channels, self.channels, 3, padding=1, **layers)
        self.context = AsymmetricPyramidNonLocal(
            self.channels, hidden_channels=project_channels,
            out_channels=self.channels, query_scales=query_scales,
            key_pool_scales=key_pool_scales, **layers)

    def forward(self, inputs):
        low_feats, high_feats = self._transform_inputs(inputs)
        output = self.fusion(low_feats, high_feats)
        # mmseg's head calls self.dropout unconditionally, which fails with
        # dropout_ratio=0 (BaseDecodeHead then sets it to None).
        if self.dropout is not None:
            output = self.dropout(output)
        output = self.context(self.bottleneck(output))
        return self.cls_seg(output)
