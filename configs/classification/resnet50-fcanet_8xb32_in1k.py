# FcaNet-50 on ImageNet-1k: multi-spectral channel attention (top-16 DCT
# frequencies) on the residual branch of every bottleneck, the DCT size of
# each stage being its map size at 224x224 input (56, 28, 14, 7), as in Qin
# et al., ICCV 2021.
_base_ = '../_base_/classification/resnet50-blocks_8xb32_in1k.py'
model = dict(
    backbone=dict(insert=[
        dict(
            where='residual',
            stages=tuple(i == stage for i in range(4)),
            block=dict(
                type='mmattn.MultiSpectralChannelAttention', dct_size=size))
        for stage, size in enumerate((56, 28, 14, 7))
    ]))
