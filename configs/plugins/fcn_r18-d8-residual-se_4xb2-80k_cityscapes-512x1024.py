# FCN R18-D8, Cityscapes 512x1024, 80k iterations, with Squeeze-and-Excitation
# where the SE paper puts it: on the residual branch of every BasicBlock,
# before the shortcut is added (SE-ResNet-18/34). mmdet's and mmseg's
# `plugins=` slot does not serve BasicBlocks; mmattn.BackboneWithBlocks with
# where='residual' inserts after each block's last norm (bn2). The backbone
# keeps its state-dict keys: the ImageNet checkpoint in `model.pretrained`
# loads unchanged and the 8 SE blocks are reported as new in one log line.
_base_ = 'mmseg::fcn/fcn_r18-d8_4xb2-80k_cityscapes-512x1024.py'
custom_imports = dict(imports=['mmattn'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmattn.BackboneWithBlocks',
        backbone=dict(
            type='ResNetV1c',
            depth=18,
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
        ]))
