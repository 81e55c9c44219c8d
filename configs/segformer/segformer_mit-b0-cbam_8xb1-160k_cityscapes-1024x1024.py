# SegFormer MiT-B0, Cityscapes 1024x1024, 160k iterations (mmseg's recipe),
# with a CBAM block after the last encoder layer of each of the four MiT
# stages: on the stage's tokens laid out on their (H, W) grid, so the
# decoder's four inputs are the attended maps. MiT has no `plugins=` slot;
# mmattn.BackboneWithBlocks inserts by role (where='stage') and keeps every
# key of the MiT-B0 checkpoint, which loads as in mmseg's config (the four
# CBAM blocks are reported as new).
_base_ = 'mmseg::segformer/segformer_mit-b0_8xb1-160k_cityscapes-1024x1024.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
checkpoint = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/mit_b0_20220624-7e0fe6dd.pth'  # noqa
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmattn.BackboneWithBlocks',
        backbone=dict(
            type='MixVisionTransformer',
            in_channels=3,
            embed_dims=32,
            num_stages=4,
            num_layers=[2, 2, 2, 2],
            num_heads=[1, 2, 5, 8],
            patch_sizes=[7, 3, 3, 3],
            sr_ratios=[8, 4, 2, 1],
            out_indices=(0, 1, 2, 3),
            mlp_ratio=4,
            qkv_bias=True,
            drop_rate=0.0,
            attn_drop_rate=0.0,
            drop_path_rate=0.1),
        insert=[
            dict(
                where='stage',
                block=dict(type='mmattn.CBAM', reduction=16,
                           spatial_kernel=7))
        ],
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint)))
