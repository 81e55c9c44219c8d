# Faster R-CNN R50-FPN 1x with a global context block on every FPN level
# (P2-P6, after the FPN, through mmattn.AttentionNeck). GCNet's detection
# setting puts the block in the backbone (mmdet's gcnet configs, ratio 1/4 or
# 1/16 on c3-c5); after the FPN all levels have 256 channels and the block is
# linear in H*W, so it is cheap on every level. Its last transform conv starts
# at zero, so the detector starts as the plain one.
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
        block=dict(type='mmattn.GlobalContext', ratio=1. / 4),
        in_channels=256,
        levels=(0, 1, 2, 3, 4))
])
