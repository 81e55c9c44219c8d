# Faster R-CNN FPN 1x COCO, starting from timm's ImageNet-1k weights of
# ECA-ResNet-50-D (Efficient Channel Attention after every bottleneck; deep
# stem, average-pool shortcut).
# timm's `ecaresnet50d` is this OpenMMLab ResNet with mmattn blocks, key
# for key (mmattn/models/backbones/timm_resnets.py). Convert the weights
# first (timm downloads them once; see docs/pretrained.md):
#   python tools/model_converters/timm2mmattn.py ecaresnet50d.miil_in1k pretrain/ecaresnet50d_timm-in1k.pth
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=50,
        style='pytorch',
        deep_stem=True,
        stem_channels=64,
        avg_down=True,
        plugins=[
            dict(
                cfg=dict(type='mmattn.EfficientChannelAttention'),
                position='after_conv3')
        ],
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='pretrain/ecaresnet50d_timm-in1k.pth')))
