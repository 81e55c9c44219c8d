# Faster R-CNN R50-FPN 1x COCO with FcaNet (multi-spectral channel attention, the authors'
# top-16 frequencies) after conv3 of every bottleneck (before the residual add).
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
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
