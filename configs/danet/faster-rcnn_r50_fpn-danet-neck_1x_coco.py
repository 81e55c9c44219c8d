# Faster R-CNN R50-FPN 1x with DANet's position attention then channel
# attention on the coarser FPN levels P4-P6 (after the FPN, through
# mmattn.AttentionNeck). Position attention costs O((H*W)^2): at 800x1333, P3
# alone would need a 16.7k x 16.7k map per image, P4 a 4.2k x 4.2k one. Both
# blocks start as the identity (gamma = 0), so the detector starts as the plain
# one; in sequence they stay so, where DANet head's sum of the two would not.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
model = dict(neck=[
    dict(
        type='FPN',
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        num_outs=5),
    dict(
        type='mmattn.AttentionNeck',
        block=[
            dict(type='mmattn.PositionAttention', channels=32),
            dict(type='mmattn.ChannelAttention')
        ],
        in_channels=256,
        levels=(2, 3, 4))
])
