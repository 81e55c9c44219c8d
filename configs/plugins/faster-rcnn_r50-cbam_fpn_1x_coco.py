# Faster R-CNN R50-FPN 1x COCO with CBAM (channel then spatial gate)
# after conv3 of every bottleneck (before the residual add), as in the paper.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='mmattn.CBAM', reduction=16, spatial_kernel=7),
            stages=(True, True, True, True),
            position='after_conv3')
    ]))
