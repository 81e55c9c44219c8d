# SPANet-50 on ImageNet-1k: salient-positions attention (k = 8) on the residual
# branch of every bottleneck of stages 3 and 4. The authors' code
# (likyoo/SPANet) gives the block, not a ResNet placement; SPA replaces
# non-local blocks, which go in stages 3 and 4, and this is the placement of
# mmattn's SPANet detection and segmentation configs (docs/spanet.md).
_base_ = '../_base_/classification/resnet50-blocks_8xb32_in1k.py'
model = dict(
    backbone=dict(insert=[
        dict(
            where='residual',
            stages=(False, False, True, True),
            block=dict(type='mmattn.SalientPositionAttention', k=8))
    ]))
