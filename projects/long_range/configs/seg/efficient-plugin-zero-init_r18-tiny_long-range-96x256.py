# Long-range benchmark: the efficient-attention plugin of
# efficient-plugin_r18-tiny_long-range-96x256.py started as the identity
# (zero_init=True), everything else the same (docs/long_range.md,
# "Identity at init, both ways").
_base_ = './efficient-plugin_r18-tiny_long-range-96x256.py'
model = dict(
    backbone=dict(insert=[
        dict(
            after=['layer1.0', 'layer1.1', 'layer2.0', 'layer2.1'],
            block=dict(
                type='mmattn.EfficientAttention', num_heads=2,
                zero_init=True))
    ]))
