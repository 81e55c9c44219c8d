# FCN R50-D8, Cityscapes 512x1024, 80k iterations, fine-tuned from the SE
# ResNet-50 that configs/classification/resnet50-se_8xb32_in1k.py trains in
# mmpretrain. The backbone is the same: ResNet-50 (mmseg's plain ResNet, as
# mmpretrain's: no deep stem) with SE on every residual branch, so every key
# of the classifier's `backbone.*` loads, the SE blocks' included; only the
# dilations (D8) differ, which have no weights. Train the classifier first:
#   python tools/train.py configs/classification/resnet50-se_8xb32_in1k.py
_base_ = 'mmseg::fcn/fcn_r50-d8_4xb2-80k_cityscapes-512x1024.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='mmattn.BackboneWithBlocks',
        backbone=dict(
            type='ResNet',
            depth=50,
            num_stages=4,
            out_indices=(0, 1, 2, 3),
            dilations=(1, 1, 2, 4),
            strides=(1, 2, 1, 1),
            norm_cfg=norm_cfg,
            norm_eval=False,
            style='pytorch',
            contract_dilation=True),
        insert=[
            dict(
                where='residual',
                block=dict(type='mmattn.SqueezeExcitation', reduction=16))
        ],
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/resnet50-se_8xb32_in1k/epoch_100.pth',
            prefix='backbone.')))
