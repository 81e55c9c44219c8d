# FCN D8 (output stride 8), Cityscapes 512x1024, 80k iterations, starting from
# timm's ImageNet-1k weights of ECA-ResNet-101-D (Efficient Channel Attention
# after every bottleneck; deep stem, average-pool shortcut).
# timm's `ecaresnet101d` is this OpenMMLab ResNet with mmattn blocks, key
# for key (mmattn/models/backbones/timm_resnets.py). Convert the weights
# first (timm downloads them once; see docs/pretrained.md):
#   python tools/model_converters/timm2mmattn.py ecaresnet101d.miil_in1k pretrain/ecaresnet101d_timm-in1k.pth
# Where a dilated stage starts, the shortcut does not pool (mmseg's
# ResLayer); timm's output_stride=8 model pools 2x2 at stride 1 there.
# The ECA-ResNet-50-D config with depth 101 and its weights.
_base_ = './fcn_ecaresnet50d-d8_timm-in1k-pre_4xb2-80k_cityscapes-512x1024.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(checkpoint='pretrain/ecaresnet101d_timm-in1k.pth')))
