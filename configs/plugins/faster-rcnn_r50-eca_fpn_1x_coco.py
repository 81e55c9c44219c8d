# Faster R-CNN R50-FPN 1x COCO with ECA (the authors' kernel sizes 3, 5, 5, 7 per stage)
# after conv3 of every bottleneck (before the residual add), as in the paper.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
# The authors' kernel sizes per stage (their ResNet-50 checkpoint, --ksize 3557;
# mmattn.blocks.ECA_AUTHORS_KERNEL_SIZES), one plugin entry per stage; the
# paper's adaptive rule (kernel_size=None) would give 5, 5, 5, 7.
model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='mmattn.EfficientChannelAttention', kernel_size=k),
            stages=tuple(i == stage for i in range(4)),
            position='after_conv3')
        for stage, k in enumerate((3, 5, 5, 7))
    ]))
