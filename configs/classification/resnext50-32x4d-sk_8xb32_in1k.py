# SKNet-50 on ImageNet-1k: ResNeXt-50 (32x4d) whose grouped 3x3 convolutions
# are selective-kernel convolutions (3x3 and dilated 3x3 paths, r = 16,
# L = 32), without the norm after them, as in the authors' SK units (Li et
# al., CVPR 2019). mmdet's ResNeXt offers the conv2 slot (`dcn=`);
# mmattn.BackboneWithBlocks removes the bn2 that follows it.
_base_ = 'mmpretrain::resnext/resnext50-32x4d_8xb32_in1k.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmattn.BackboneWithBlocks',
        backbone=dict(
            type='mmdet.ResNeXt',
            depth=50,
            groups=32,
            base_width=4,
            num_stages=4,
            out_indices=(3, ),
            style='pytorch',
            # groups: ResNeXt's (32), passed by its Bottleneck
            dcn=dict(type='mmattn.SelectiveKernelConv'),
            stage_with_dcn=(True, True, True, True)),
        remove=r'layer\d+\.\d+\.bn2'))
