# FCN R50-D8, Cityscapes 512x1024, 80k iterations, with CBAM (channel then spatial gate)
# after conv3 of every bottleneck (before the residual add), as in the paper.
_base_ = 'mmseg::fcn/fcn_r50-d8_4xb2-80k_cityscapes-512x1024.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='mmattn.CBAM', reduction=16, spatial_kernel=7),
            stages=(True, True, True, True),
            position='after_conv3')
    ]))
