# Faster R-CNN R50-FPN 1x with salient-positions attention after conv3 of every
# bottleneck in stages 3 and 4 (where non-local/GC plugins usually go). The block
# starts as the identity (zero_init) so the ImageNet-pretrained backbone is intact.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='mmattn.SalientPositionAttention', k=8, zero_init=True),
            stages=(False, False, True, True),
            position='after_conv3')
    ]))
