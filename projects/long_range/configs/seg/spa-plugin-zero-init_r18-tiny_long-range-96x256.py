# Long-range benchmark: the SPANet plugin of
# spa-plugin_r18-tiny_long-range-96x256.py started as the identity
# (zero_init=True: the norm after W's conv starts at zero, so every block
# returns its input at step 0). The same blocks, places,
# data and schedule: the pair measures what the identity start changes
# (docs/long_range.md, "Identity at init, both ways").
_base_ = './spa-plugin_r18-tiny_long-range-96x256.py'
model = dict(
    backbone=dict(insert=[
        dict(
            after=['layer1.0', 'layer1.1', 'layer2.0', 'layer2.1'],
            block=dict(
                type='mmattn.SalientPositionAttention', k=8, zero_init=True))
    ]))
