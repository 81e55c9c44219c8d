# The long-range benchmark, detection: plain Faster R-CNN (the local baseline).
#
# Data: synthetic COCO written by projects/long_range/tools/long_range_benchmark.py --task det
# (side-bar layout, 96x256, no shape within 96 px of the cue bar; see
# docs/long_range.md). The backbone is mmdet's ResNet-18 cut to two stages at
# width 32; with the FPN its receptive field is narrower than the margin, and
# the RoI head sees only RoIAlign features of the box: nothing of the plain
# detector can see the cue that decides the category. The attention variants
# keep everything and add blocks on FPN levels or in the backbone.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    'mmdet::_base_/default_runtime.py'
]
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)

image_size = (96, 256)
num_iters = 300
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=18,
        num_stages=2,
        strides=(1, 2),
        dilations=(1, 1),
        out_indices=(0, 1),
        stem_channels=32,
        base_channels=32,
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        init_cfg=None),
    neck=dict(
        type='FPN', in_channels=[32, 64], out_channels=64, num_outs=3),
    rpn_head=dict(
        in_channels=64,
        feat_channels=64,
        anchor_generator=dict(
            type='AnchorGenerator',
            scales=[6],
            ratios=[0.5, 1.0, 2.0],
            strides=[4, 8, 16])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64, featmap_strides=[4, 8, 16]),
        bbox_head=dict(in_channels=64, fc_out_channels=256)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(
        rpn=dict(nms_pre=500, max_per_img=100),
        rcnn=dict(score_thr=0.01, max_per_img=20)))

dataset_type = 'CocoDataset'
data_root = 'data/long_range_coco/'
backend_args = None
# No crop, rescaling or colour jitter: the cue is a colour bar at a side edge.
# Resize to the generated size (a no-op) records the scale factor that
# mmdet's test-time rescaling expects.
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(256, 96), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(256, 96), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=None,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=8),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/instances_val2017.json',
    metric='bbox',
    format_only=False,
    backend_args=backend_args)
test_evaluator = val_evaluator

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.001, betas=(0.9, 0.999),
                   weight_decay=0.01),
    clip_grad=dict(max_norm=10, norm_type=2))
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
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', by_epoch=False,
                    interval=num_iters, max_keep_ckpts=1))
log_processor = dict(by_epoch=False, window_size=50)
randomness = dict(seed=0)
