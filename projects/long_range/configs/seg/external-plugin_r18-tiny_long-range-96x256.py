# Long-range benchmark: external attention (64 memory units, as the
# external-attention head; no ReLU after the sum, the catalog's plugin
# setting) after every residual block of the local baseline's backbone
# (mmattn.BackboneWithBlocks), with the baseline's FCNHead, data and schedule.
# The block's default init (zero_init=False); its pair
# external-plugin-zero-init_r18-tiny_long-range-96x256.py starts it as the
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
                block=dict(
                    type='mmattn.ExternalAttention',
                    memory_units=64,
                    relu=False))
        ]))
