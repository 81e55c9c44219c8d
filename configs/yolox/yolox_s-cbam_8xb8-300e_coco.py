# YOLOX-S, COCO, 300 epochs (mmdet's recipe), with CBAM after stages 2, 3 and
# 4 of its CSPDarknet, the three stages whose outputs feed the PAFPN. mmdet's
# CSPDarknet takes no `plugins=` (mmdetection #9082, #10358);
# mmattn.BackboneWithBlocks inserts by role (where='stage') and keeps the
# backbone's keys, so YOLOX-S checkpoints load with the CBAM blocks new.
_base_ = 'mmdet::yolox/yolox_s_8xb8-300e_coco.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmattn.BackboneWithBlocks',
        backbone=dict(
            type='CSPDarknet',
            deepen_factor=0.33,
            widen_factor=0.5,
            out_indices=(2, 3, 4),
            use_depthwise=False,
            spp_kernal_sizes=(5, 9, 13),
            norm_cfg=dict(type='BN', momentum=0.03, eps=0.001),
            act_cfg=dict(type='Swish')),
        insert=[
            dict(
                where='stage',
                stages=(False, True, True, True),
                block=dict(type='mmattn.CBAM', reduction=16,
                           spatial_kernel=7))
        ]))
