# Long-range benchmark, classification: salient-positions attention (SPANet)
# after every residual block of the baseline's backbone
# (mmattn.BackboneWithBlocks), with the baseline's classifier, data and
# schedule (docs/long_range.md).
_base_ = './resnet18-tiny_long-range-96x256.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmattn.BackboneWithBlocks',
        backbone={{_base_.model.backbone}},
        insert=[
            dict(
                after=['layer1.0', 'layer1.1', 'layer2.0', 'layer2.1'],
                block=dict(type='mmattn.SalientPositionAttention', k=8))
        ]))
