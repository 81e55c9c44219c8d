# Faster R-CNN R50-FPN 1x COCO with SPENet (self-adaptive max/min pooling)
# after conv3 of every bottleneck (before the residual add), as in the paper.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='mmattn.SelfAdaptivePoolingAttention'),
            stages=(True, True, True, True),
            position='after_conv3')
    ]))

# the paper's auxiliary term alpha * sum(p^2) over every SPE block
custom_hooks = [dict(type='mmattn.SPEPenaltyHook', alpha=0.1)]
