# Faster R-CNN FPN 1x COCO, starting from timm's ImageNet-1k weights of
# SE-ResNet-50 (Squeeze-and-Excitation after every bottleneck).
# timm's `seresnet50` is this OpenMMLab ResNet with mmattn blocks, key
# for key (mmattn/models/backbones/timm_resnets.py). Convert the weights
# first (timm downloads them once; see docs/pretrained.md):
#   python tools/model_converters/timm2mmattn.py seresnet50.a1_in1k pretrain/seresnet50_timm-in1k.pth
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=50,
        style='pytorch',
        plugins=[
            dict(
                cfg=dict(type='mmattn.SqueezeExcitation'),
                position='after_conv3')
        ],
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='pretrain/seresnet50_timm-in1k.pth')))
