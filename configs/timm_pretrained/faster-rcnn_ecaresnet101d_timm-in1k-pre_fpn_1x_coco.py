# Faster R-CNN FPN 1x COCO, starting from timm's ImageNet-1k weights of
# ECA-ResNet-101-D (Efficient Channel Attention after every bottleneck; deep
# stem, average-pool shortcut).
# timm's `ecaresnet101d` is this OpenMMLab ResNet with mmattn blocks, key
# for key (mmattn/models/backbones/timm_resnets.py). Convert the weights
# first (timm downloads them once; see docs/pretrained.md):
#   python tools/model_converters/timm2mmattn.py ecaresnet101d.miil_in1k pretrain/ecaresnet101d_timm-in1k.pth
# The ECA-ResNet-50-D config with depth 101 and its weights.
_base_ = './faster-rcnn_ecaresnet50d_timm-in1k-pre_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(checkpoint='pretrain/ecaresnet101d_timm-in1k.pth')))
