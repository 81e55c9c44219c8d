# SPANet (salient-positions attention) on a dilated ResNet-50 (output stride 8):
# mmseg's NLHead model with the non-local block replaced by mmattn's SPAHead.
_base_ = 'mmseg::_base_/models/nonlocal_r50-d8.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
model = dict(
    decode_head=dict(
        _delete_=True,
        type='mmattn.SPAHead',
        in_channels=2048,
        in_index=3,
        channels=512,
        hidden_channels=None,  # channels // 2
        k=8,
        adaptive=False,
        k_divisor=16,
        sub_sample=False,
        zero_init=False,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
