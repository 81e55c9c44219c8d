# OCRNet (object-contextual representations) on a dilated ResNet-50 (output
# stride 8): mmseg's cascade of an FCN head (soft object regions, on C4) and
# the OCR head (on C5), with the OCR head switched to mmattn's drop-in of the
# same name: same arguments and state-dict keys, so mmseg's checkpoints load as
# is. A list of heads is replaced, not merged, on inheritance, so both heads
# are restated here with mmseg's values.
_base_ = 'mmseg::_base_/models/ocrnet_r50-d8.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(decode_head=[
    dict(
        type='FCNHead',
        in_channels=1024,
        in_index=2,
        channels=256,
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
        in_channels=2048,
        in_index=3,
        channels=512,
        ocr_channels=256,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
])
