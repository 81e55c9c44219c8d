# FCN D8 (output stride 8), Cityscapes 512x1024, 80k iterations, starting from
# timm's ImageNet-1k weights of SK-ResNeXt-50 32x4d (selective-kernel 3x3
# convolutions).
# timm's `skresnext50_32x4d` is this OpenMMLab ResNet with mmattn blocks, key
# for key (mmattn/models/backbones/timm_resnets.py). Convert the weights
# first (timm downloads them once; see docs/pretrained.md):
#   python tools/model_converters/timm2mmattn.py skresnext50_32x4d.ra_in1k pretrain/skresnext50_32x4d_timm-in1k.pth
_base_ = 'mmseg::fcn/fcn_r50-d8_4xb2-80k_cityscapes-512x1024.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='mmattn.BackboneWithBlocks',
        backbone=dict(
            type='ResNeXt',
            depth=50,
            style='pytorch',
            groups=32,
            base_width=4,
            dcn=dict(
                type='mmattn.SelectiveKernelConv',
                norm_cfg=dict(type='SyncBN', requires_grad=True),
                fc_norm_cfg=dict(type='SyncBN', requires_grad=True)),
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
            checkpoint='pretrain/skresnext50_32x4d_timm-in1k.pth')))
