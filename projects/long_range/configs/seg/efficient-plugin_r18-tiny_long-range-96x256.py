# Long-range benchmark: efficient attention (2 heads, as the
# efficient-attention head) after every residual block of the local
# baseline's backbone (mmattn.BackboneWithBlocks), with the baseline's
# FCNHead, data and schedule.
# The block's default init (zero_init=False); its pair
# efficient-plugin-zero-init_r18-tiny_long-range-96x256.py starts it as the
# identity (docs/long_range.md, "Identity at init, both ways").
_base_ = './fcn_r18-tiny_long-range-96x256.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmattn.BackboneWithBlocks',
        backbone={{_base_.model.backbone}},
        insert=[
            dict(
                after=['layer1.0', 'layer1.1', 'layer2.0', 'layer2.1'],
                block=dict(type='mmattn.EfficientAttention', num_heads=2))
        ]))
