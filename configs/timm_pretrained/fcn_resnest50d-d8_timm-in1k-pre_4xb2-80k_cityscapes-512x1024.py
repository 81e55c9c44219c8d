# FCN D8 (output stride 8), Cityscapes 512x1024, 80k iterations, starting from
# timm's ImageNet-1k weights of ResNeSt-50-D (split-attention 3x3 convolutions
# with average-pool striding; deep stem, average-pool shortcut).
# timm's `resnest50d` is this OpenMMLab ResNet with mmattn blocks, key
# for key (mmattn/models/backbones/timm_resnets.py). Convert the weights
# first (timm downloads them once; see docs/pretrained.md):
#   python tools/model_converters/timm2mmattn.py resnest50d.in1k pretrain/resnest50d_timm-in1k.pth
# Where a dilated stage starts, the shortcut does not pool (mmseg's
# ResLayer); timm's output_stride=8 model pools 2x2 at stride 1 there.
_base_ = 'mmseg::fcn/fcn_r50-d8_4xb2-80k_cityscapes-512x1024.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='mmattn.BackboneWithBlocks',
        backbone=dict(
            type='ResNet',
            depth=50,
            style='pytorch',
            deep_stem=True,
            stem_channels=64,
            avg_down=True,
            dcn=dict(
                type='mmattn.SplitAttentionConv',
                radix=2,
                avg_down_stride=True,
                norm_cfg=dict(type='SyncBN', requires_grad=True)),
            stage_with_dcn=(True, True, True, True),
            num_stages=4,
            out_indices=(0, 1, 2, 3),
            dilations=(1, 1, 2, 4),
            strides=(1, 2, 1, 1),
            norm_cfg=dict(type='SyncBN', requires_grad=True),
            norm_eval=False,
            contract_dilation=True),
        remove=r'layer\d+\.\d+\.bn2',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='pretrain/resnest50d_timm-in1k.pth')))
