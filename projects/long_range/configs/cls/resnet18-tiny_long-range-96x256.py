# The long-range benchmark's classification recipe (mmpretrain), the plain
# baseline. Data: the segmentation benchmark's scenes in the ImageNet layout,
# written by projects/long_range/tools/long_range_benchmark.py --task cls (or
# tools/dataset_converters/make_synthetic.py --format imagenet --size 96x256
# --num-train 2000 --num-val 200 --margin 96): the label of an image is the
# class of its side bar's colour (8 of the 1000 ImageNet classes). The
# backbone is the segmentation recipe's ResNetV1c-18 cut to two stages at
# width 32, then global average pooling and a linear classifier. Unlike a
# pixel's label, an image's is read through the global pooling, which sees
# the bar from anywhere: this task checks that attention keeps or helps
# top-1 and costs what it costs; it cannot make a local model blind to the
# cue (docs/long_range.md).
_base_ = ['mmpretrain::_base_/default_runtime.py']
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)

num_iters = 300
data_preprocessor = dict(
    num_classes=1000,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        num_stages=2,
        out_indices=(1, ),
        strides=(1, 2),
        dilations=(1, 1),
        stem_channels=32,
        base_channels=32,
        style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))

# no crop or resize (the bar could be cut off), a horizontal flip keeps the
# rule
dataset_type = 'ImageNet'
data_root = 'data/long_range_imagenet/'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs')
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type, data_root=data_root, split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type, data_root=data_root, split='val',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

# the segmentation recipe's optimiser and schedule
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.002, betas=(0.9, 0.999),
                   weight_decay=0.01))
warmup_iters = min(50, num_iters // 10)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=warmup_iters),
    dict(type='PolyLR', eta_min=1e-5, power=1.0, begin=warmup_iters,
         end=num_iters, by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=num_iters, val_interval=num_iters)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False,
                    interval=num_iters, max_keep_ckpts=1))
log_processor = dict(by_epoch=False, window_size=50)
randomness = dict(seed=0)
