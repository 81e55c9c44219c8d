# RTMDet-tiny, COCO, 300 epochs (mmdet's recipe), with SPEM (SPENet's
# self-adaptive max/min pooling gate) after stages 2, 3 and 4 of its
# CSPNeXt, the three stages whose outputs feed the PAFPN, and SPEM's
# auxiliary term 0.1 * sum(p^2) (mmattn.SPEPenaltyHook) beside mmdet's EMA
# and pipeline-switch hooks. CSPNeXt takes no `plugins=`;
# mmattn.BackboneWithBlocks inserts by role and keeps the backbone's keys,
# so the ImageNet CSPNeXt-tiny checkpoint loads with the SPEM blocks new.
_base_ = 'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
checkpoint = 'https://download.openmmlab.com/mmdetection/v3.0/rtmdet/cspnext_rsb_pretrain/cspnext-tiny_imagenet_600e.pth'  # noqa
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmattn.BackboneWithBlocks',
        backbone=dict(
            type='CSPNeXt',
            arch='P5',
            expand_ratio=0.5,
            deepen_factor=0.167,
            widen_factor=0.375,
            channel_attention=True,
            norm_cfg=dict(type='SyncBN'),
            act_cfg=dict(type='SiLU', inplace=True)),
        insert=[
            dict(
                where='stage',
                stages=(False, True, True, True),
                block=dict(type='mmattn.SelfAdaptivePoolingAttention'))
        ],
        init_cfg=dict(
            type='Pretrained', prefix='backbone.', checkpoint=checkpoint)))
custom_hooks = [
    dict(
        type='EMAHook',
        ema_type='ExpMomentumEMA',
        momentum=0.0002,
        update_buffers=True,
        priority=49),
    dict(
        type='PipelineSwitchHook',
        switch_epoch=280,
        switch_pipeline={{_base_.train_pipeline_stage2}}),
    dict(type='mmattn.SPEPenaltyHook', alpha=0.1)
]
