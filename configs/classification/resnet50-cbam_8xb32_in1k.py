# CBAM-ResNet-50 on ImageNet-1k: channel then spatial attention (r = 16, 7x7)
# on the residual branch of every bottleneck (Woo et al., ECCV 2018, fig. 3).
_base_ = '../_base_/classification/resnet50-blocks_8xb32_in1k.py'
model = dict(
    backbone=dict(insert=[
        dict(
            where='residual',
            block=dict(type='mmattn.CBAM', reduction=16, spatial_kernel=7))
    ]))
