# RetinaNet R50-FPN 1x with a global context block on every pyramid level
# (P3-P7, after the FPN, through mmattn.AttentionNeck): a one-stage detector
# with attention on its FPN levels. Every level has 256 channels and the
# block is linear in H*W; its last transform conv starts at zero, so the
# detector starts as the plain one. The FPN's keys move under `neck.0.`.
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
model = dict(neck=[
    dict(
        type='FPN',
        in_channels=[256, 512, 1024, 2048],
        start_level=1,
        out_channels=256,
        add_extra_convs='on_input',
        num_outs=5),
    dict(
        type='mmattn.AttentionNeck',
        block=dict(type='mmattn.GlobalContext', ratio=1. / 4),
        in_channels=256,
        levels=(0, 1, 2, 3, 4))
])
