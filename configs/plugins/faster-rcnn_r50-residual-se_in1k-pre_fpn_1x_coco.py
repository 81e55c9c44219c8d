# Faster R-CNN R50-FPN 1x COCO fine-tuned from the SE ResNet-50 that
# configs/classification/resnet50-se_8xb32_in1k.py trains in mmpretrain: the
# same ResNet-50 with SE on every residual branch, so every key of the
# classifier's `backbone.*` loads, the SE blocks' included. Train the
# classifier first:
#   python tools/train.py configs/classification/resnet50-se_8xb32_in1k.py
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmattn.BackboneWithBlocks',
        backbone=dict(
            type='ResNet',
            depth=50,
            num_stages=4,
            out_indices=(0, 1, 2, 3),
            frozen_stages=1,
            norm_cfg=dict(type='BN', requires_grad=True),
            norm_eval=True,
            style='pytorch'),
        insert=[
            dict(
                where='residual',
                block=dict(type='mmattn.SqueezeExcitation', reduction=16))
        ],
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/resnet50-se_8xb32_in1k/epoch_100.pth',
            prefix='backbone.')))
