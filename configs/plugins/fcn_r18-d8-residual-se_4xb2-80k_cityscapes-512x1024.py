# FCN R18-D8, Cityscapes 512x1024, 80k iterations, with Squeeze-and-Excitation
# where the SE paper puts it: on the residual branch of every BasicBlock,
# before the shortcut is added (SE-ResNet-18/34). mmdet's and mmseg's
# `plugins=` slot does not serve BasicBlocks; mmattn.BackboneWithBlocks with
# where='residual' inserts after each block's last norm (bn2). The backbone
# is the insert-se config's (its keys unchanged: the ImageNet checkpoint in
# `model.pretrained` loads, and the 8 SE blocks are reported as new in one
# log line); only the insertion points differ.
_base_ = './fcn_r18-d8-insert-se_4xb2-80k_cityscapes-512x1024.py'
model = dict(
    backbone=dict(insert=[
        dict(
            where='residual',
            block=dict(type='mmattn.SqueezeExcitation', reduction=16))
    ]))
