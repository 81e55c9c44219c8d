# mmseg's ocrnet_r101-d8_8xb2-80k_cityscapes-512x1024 (8 GPUs x 2 images, lr
# 0.02) with mmattn's OCRHead: the configuration of the published checkpoint
# listed in docs/model_zoo.md. Its learning-rate schedule ends at 40k of the
# 80k iterations, as in mmseg.
_base_ = './ocrnet_r50-d8_4xb2-80k_cityscapes-512x1024.py'
model = dict(pretrained='open-mmlab://resnet101_v1c', backbone=dict(depth=101))
optimizer = dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0005)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=2e-4,
        power=0.9,
        begin=0,
        end=40000,
        by_epoch=False)
]
