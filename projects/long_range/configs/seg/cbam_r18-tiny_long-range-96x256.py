# Long-range benchmark: CBAM (channel then spatial attention) after every residual block of the local baseline's
# backbone (mmattn.BackboneWithBlocks; mmseg's BasicBlock takes no plugins),
# with the baseline's FCNHead, data and schedule (docs/long_range.md).
_base_ = './fcn_r18-tiny_long-range-96x256.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmattn.BackboneWithBlocks',
        backbone={{_base_.model.backbone}},
        insert=[
            dict(
                after=['layer1.0', 'layer1.1', 'layer2.0', 'layer2.1'],
                block=dict(type='mmattn.CBAM', reduction=4))
        ]))
