# SPENet-50 on ImageNet-1k: SPEM (self-adaptive max/min pooling) on the
# residual branch of every bottleneck, with the paper's auxiliary term
# 0.1 * sum(p^2). The paper reports CIFAR only (its recipe:
# resnet164-spenet_1xb128-164e_cifar10.py); this is the same placement in
# mmpretrain's ResNet-50 recipe.
_base_ = '../_base_/classification/resnet50-blocks_8xb32_in1k.py'
model = dict(
    backbone=dict(insert=[
        dict(
            where='residual',
            block=dict(type='mmattn.SelfAdaptivePoolingAttention'))
    ]))
custom_hooks = [dict(type='mmattn.SPEPenaltyHook', alpha=0.1)]
