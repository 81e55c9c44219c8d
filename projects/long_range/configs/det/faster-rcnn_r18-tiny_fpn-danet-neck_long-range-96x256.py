# Long-range benchmark, detection: position then channel attention (DANet) on the FPN levels
# (mmattn.AttentionNeck after the FPN) of the plain detector
# (faster-rcnn_r18-tiny_fpn_long-range-96x256.py); everything else is unchanged.
_base_ = './faster-rcnn_r18-tiny_fpn_long-range-96x256.py'
model = dict(neck=[
    dict(type='FPN', in_channels=[32, 64], out_channels=64, num_outs=3),
    dict(
        type='mmattn.AttentionNeck',
        block=[
            dict(type='mmattn.PositionAttention', channels=16),
            dict(type='mmattn.ChannelAttention')
        ],
        in_channels=64,
        levels=(0, 1, 2))
])
