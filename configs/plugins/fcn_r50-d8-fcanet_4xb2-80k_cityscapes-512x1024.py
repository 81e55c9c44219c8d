# FCN R50-D8, Cityscapes 512x1024, 80k iterations with FcaNet (multi-spectral channel attention, the authors'
# top-16 frequencies) after conv3 of every bottleneck (before the residual add).
_base_ = 'mmseg::fcn/fcn_r50-d8_4xb2-80k_cityscapes-512x1024.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
# The authors' DCT size per stage (mmattn.blocks.FCANET_AUTHORS_DCT_SIZES: each
# stage's size at 224 x 224, used for detection too), one plugin entry per stage;
# other input sizes are adaptive-average-pooled to it, as in their code.
model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='mmattn.MultiSpectralChannelAttention', dct_size=size),
            stages=tuple(i == stage for i in range(4)),
            position='after_conv3')
        for stage, size in enumerate((56, 28, 14, 7))
    ]))
