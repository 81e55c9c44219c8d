# GE-theta-plus ResNet-50 on ImageNet-1k: gather-excite with a parametric
# gather (depthwise 3x3 stride-2 convs over an extent of 8) and the MLP after
# it, on the residual branch of every bottleneck (Hu et al., NeurIPS 2018).
# The paper's headline GE-theta-plus gathers over the global extent with one
# depthwise conv whose kernel is the whole map; mmattn.GatherExcite refuses
# that form (its weights fix the input size, which detection and
# segmentation vary), so this is the paper's extent-8 variant, whose
# backbone also fine-tunes at any size. (The global extent with the MLP alone
# would be SE.)
_base_ = '../_base_/classification/resnet50-blocks_8xb32_in1k.py'
model = dict(
    backbone=dict(insert=[
        dict(
            where='residual',
            block=dict(
                type='mmattn.GatherExcite',
                extent=8,
                extra_params=True,
                use_mlp=True))
    ]))
