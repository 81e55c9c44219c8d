# The long-range benchmark's recipe, with mmseg's FCNHead: the local baseline.
#
# Data: synthetic Cityscapes written by projects/long_range/tools/long_range_benchmark.py (or
# tools/dataset_converters/make_synthetic.py --format cityscapes --size 96x256
# --num-train 2000 --num-val 200 --margin 96 --label-cue-in-train
# --out data/long_range_cityscapes), where one colour bar at a side
# edge decides the class of every shape and no shape comes within 96 px of it
# (docs/long_range.md). The backbone is ResNetV1c-18 cut to its first two
# stages at width 32 (output stride 8): its receptive field, with this head,
# is narrower than the margin, so this model cannot see the cue from any
# shape; every other model of the benchmark keeps this backbone, head width,
# data and schedule and changes only the head or inserts blocks.
_base_ = ['mmseg::_base_/default_runtime.py']
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)

crop_size = (96, 256)
num_iters = 300
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        num_stages=2,
        out_indices=(0, 1),
        strides=(1, 2),
        dilations=(1, 1),
        stem_channels=32,
        base_channels=32,
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    decode_head=dict(
        type='FCNHead',
        in_channels=64,
        in_index=1,
        channels=64,
        num_convs=2,
        concat_input=True,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

# The cue is a colour at a side edge: no crop (it could cut the bar off), no
# resize, no colour jitter; a horizontal flip keeps the rule.
dataset_type = 'CityscapesDataset'
data_root = 'data/long_range_cityscapes/'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

# From scratch, so AdamW with a short warm-up and poly decay: the same
# optimiser and schedule for every model of the benchmark.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.002, betas=(0.9, 0.999),
                   weight_decay=0.01))
# Warm-up of a tenth of the run (at most 50), as projects/long_range/tools/long_range_benchmark.py
# sets it for any --iters: 30 iterations here.
warmup_iters = min(50, num_iters // 10)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=warmup_iters),
    dict(type='PolyLR', eta_min=1e-5, power=1.0, begin=warmup_iters,
         end=num_iters, by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=num_iters, val_interval=num_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False,
                    interval=num_iters, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
log_processor = dict(by_epoch=False, window_size=50)
randomness = dict(seed=0)
