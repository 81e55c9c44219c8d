# SE-ResNet-50 on ImageNet-1k: Squeeze-and-Excitation (r = 16) on the residual
# branch of every bottleneck, before the shortcut is added (Hu et al., CVPR
# 2018, figure 3).
_base_ = '../_base_/classification/resnet50-blocks_8xb32_in1k.py'
model = dict(
    backbone=dict(insert=[
        dict(
            where='residual',
            block=dict(type='mmattn.SqueezeExcitation', reduction=16))
    ]))
