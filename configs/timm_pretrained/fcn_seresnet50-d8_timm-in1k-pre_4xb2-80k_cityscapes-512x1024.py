# FCN D8 (output stride 8), Cityscapes 512x1024, 80k iterations, starting from
# timm's ImageNet-1k weights of SE-ResNet-50 (Squeeze-and-Excitation after
# every bottleneck).
# timm's `seresnet50` is this OpenMMLab ResNet with mmattn blocks, key
# for key (mmattn/models/backbones/timm_resnets.py). Convert the weights
# first (timm downloads them once; see docs/pretrained.md):
#   python tools/model_converters/timm2mmattn.py seresnet50.a1_in1k pretrain/seresnet50_timm-in1k.pth
_base_ = 'mmseg::fcn/fcn_r50-d8_4xb2-80k_cityscapes-512x1024.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
model = dict(
    pretrained=None,
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
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        norm_eval=False,
        contract_dilation=True,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='pretrain/seresnet50_timm-in1k.pth')))
