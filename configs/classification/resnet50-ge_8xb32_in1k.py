# GE-theta-plus ResNet-50 on ImageNet-1k: gather-excite with a global extent
# and the MLP after the gather, on the residual branch of every bottleneck
# (Hu et al., NeurIPS 2018).
_base_ = '../_base_/classification/resnet50-blocks_8xb32_in1k.py'
model = dict(
    backbone=dict(insert=[
        dict(
            where='residual',
            block=dict(type='mmattn.GatherExcite', use_mlp=True))
    ]))
