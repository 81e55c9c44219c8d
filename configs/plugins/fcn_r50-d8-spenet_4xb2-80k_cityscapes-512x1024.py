# FCN R50-D8, Cityscapes 512x1024, 80k iterations, with SPENet (self-adaptive max/min pooling)
# after conv3 of every bottleneck (before the residual add), as in the paper.
_base_ = 'mmseg::fcn/fcn_r50-d8_4xb2-80k_cityscapes-512x1024.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='mmattn.SelfAdaptivePoolingAttention'),
            stages=(True, True, True, True),
            position='after_conv3')
    ]))

# the paper's auxiliary term alpha * sum(p^2) over every SPE block
custom_hooks = [dict(type='mmattn.SPEPenaltyHook', alpha=0.1)]
