# Faster R-CNN R50-FPN 1x with salient-positions attention on FPN levels P4-P6
# (after the FPN, through mmattn.AttentionNeck), zero-initialised so the
# detector starts as the plain one.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
model = dict(neck=[
    dict(
        type='FPN',
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        num_outs=5),
    dict(
        type='mmattn.AttentionNeck',
        block=dict(
            type='mmattn.SalientPositionAttention', k=8, zero_init=True),
        in_channels=256,
        levels=(2, 3, 4))
])
