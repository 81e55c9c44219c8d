# Long-range benchmark: mmattn's ANNHead (asymmetric non-local: fusion + pyramid) on the local baseline's backbone, data and
# schedule (docs/long_range.md); only the decode head differs.
_base_ = './fcn_r18-tiny_long-range-96x256.py'
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    decode_head=dict(
        _delete_=True,
        type='mmattn.ANNHead',
        in_channels=[32, 64],
        in_index=[0, 1],
        channels=64,
        project_channels=32,
        query_scales=(1, ),
        key_pool_scales=(1, 3, 6, 8),
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
