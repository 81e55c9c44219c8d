# ECA-ResNet-50 on ImageNet-1k: efficient channel attention (kernel size
# adaptive to the width, gamma = 2, b = 1) where SE goes: on the residual
# branch of every bottleneck (Wang et al., CVPR 2020).
_base_ = '../_base_/classification/resnet50-blocks_8xb32_in1k.py'
model = dict(
    backbone=dict(insert=[
        dict(
            where='residual',
            block=dict(type='mmattn.EfficientChannelAttention'))
    ]))
