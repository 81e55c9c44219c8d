# mmpretrain's ResNet-50 ImageNet-1k recipe (8 GPUs x 32 images, 100 epochs,
# SGD 0.1, steps at 30/60/90) with its ResNet wrapped in
# mmattn.BackboneWithBlocks: mmpretrain's ResNet takes no `plugins=`
# (mmpretrain #1194), so the blocks go in by insertion point instead. The
# backbone keeps mmpretrain's (and mmdet's/mmseg's) ResNet keys plus
# `inserted.*`, so the trained backbone loads into the detection and
# segmentation configs (docs/attention_anywhere.md). Derived configs set
# `model.backbone.insert`; data: ImageNet in mmpretrain's layout under
# data/imagenet (train/, val/, meta/train.txt, meta/val.txt).
_base_ = 'mmpretrain::resnet/resnet50_8xb32_in1k.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmattn.BackboneWithBlocks',
        backbone=dict(
            type='ResNet',
            depth=50,
            num_stages=4,
            out_indices=(3, ),
            style='pytorch'),
        insert=None))
