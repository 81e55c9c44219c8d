# Long-range benchmark: OCRNet (mmseg's FCNHead for the soft object regions,
# then mmattn's OCRHead) on the local baseline's backbone, data and schedule
# (docs/long_range.md).
_base_ = './fcn_r18-tiny_long-range-96x256.py'
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='CascadeEncoderDecoder',
    num_stages=2,
    decode_head=[
        dict(
            type='FCNHead',
            in_channels=64,
            in_index=1,
            channels=64,
            num_convs=1,
            concat_input=False,
            dropout_ratio=0.1,
            num_classes=19,
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
        dict(
            type='mmattn.OCRHead',
            in_channels=64,
            in_index=1,
            channels=64,
            ocr_channels=32,
            dropout_ratio=0.1,
            num_classes=19,
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
    ])
