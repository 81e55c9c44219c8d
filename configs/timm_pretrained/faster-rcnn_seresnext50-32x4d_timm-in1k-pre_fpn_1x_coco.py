# Faster R-CNN FPN 1x COCO, starting from timm's ImageNet-1k weights of
# SE-ResNeXt-50 32x4d (Squeeze-and-Excitation after every bottleneck).
# timm's `seresnext50_32x4d` is this OpenMMLab ResNet with mmattn blocks, key
# for key (mmattn/models/backbones/timm_resnets.py). Convert the weights
# first (timm downloads them once; see docs/pretrained.md):
#   python tools/model_converters/timm2mmattn.py seresnext50_32x4d.racm_in1k pretrain/seresnext50_32x4d_timm-in1k.pth
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNeXt',
        depth=50,
        style='pytorch',
        groups=32,
        base_width=4,
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
            checkpoint='pretrain/seresnext50_32x4d_timm-in1k.pth')))
