# Mask R-CNN R50-FPN 1x with a global context block on every FPN level (P2-P6),
# as faster-rcnn_r50_fpn-gc-neck_1x_coco.py: the box and mask heads both read
# the attended pyramid. Zero-initialised, so the model starts as the plain one.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
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
        block=dict(type='mmattn.GlobalContext', ratio=1. / 4),
        in_channels=256,
        levels=(0, 1, 2, 3, 4))
])
