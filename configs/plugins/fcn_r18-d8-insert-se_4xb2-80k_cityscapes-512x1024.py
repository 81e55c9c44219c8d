# FCN R18-D8, Cityscapes 512x1024, 80k iterations, with Squeeze-and-Excitation
# inserted after every BasicBlock of layer3 and layer4. ResNet's `plugins=`
# slot only serves Bottlenecks, so the blocks go in by submodule name through
# mmattn.BackboneWithBlocks; the backbone keeps its state-dict keys, so the
# ImageNet checkpoint in `model.pretrained` loads unchanged and the SE blocks
# are reported as new in one log line.
_base_ = 'mmseg::fcn/fcn_r18-d8_4xb2-80k_cityscapes-512x1024.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
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
                after=['layer3.0', 'layer3.1', 'layer4.0', 'layer4.1'],
                block=dict(type='mmattn.SqueezeExcitation', reduction=16))
        ]))
