# Long-range benchmark, detection: a global context block after every residual block of the plain
# detector's backbone (mmattn.BackboneWithBlocks); everything else as in
# faster-rcnn_r18-tiny_fpn_long-range-96x256.py.
_base_ = './faster-rcnn_r18-tiny_fpn_long-range-96x256.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmattn.BackboneWithBlocks',
        backbone={{_base_.model.backbone}},
        insert=[
            dict(
                after=['layer1.0', 'layer1.1', 'layer2.0', 'layer2.1'],
                block=dict(type='mmattn.GlobalContext', ratio=1 / 4.))
        ]))
