# SPENet-164 on CIFAR-10, the SPEM paper's recipe (Zhong et al., MMM 2023;
# Qrange-group/SPEM run.py, after bearpaw/pytorch-classification): ResNet-164
# (18 post-activation bottlenecks per stage, widths 16/32/64), SPEM on the
# residual branch of every bottleneck, auxiliary term 0.1 * sum(p^2); SGD
# lr 0.1, momentum 0.9, weight decay 1e-4, batch 128, 164 epochs, lr x0.1 at
# epochs 81 and 122; random 32x32 crops of the 4-padded image and flips.
_base_ = 'mmpretrain::resnet/resnet18_8xb16_cifar10.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmattn.BackboneWithBlocks',
        backbone=dict(
            type='mmattn.CIFARResNet', depth=164, zero_init_residual=False),
        insert=[
            dict(
                where='residual',
                block=dict(type='mmattn.SelfAdaptivePoolingAttention'))
        ]),
    head=dict(in_channels=256))
custom_hooks = [dict(type='mmattn.SPEPenaltyHook', alpha=0.1)]
# data/cifar10/cifar-10-batches-py as unpacked from the archive; never
# downloaded at run time
train_dataloader = dict(batch_size=128, dataset=dict(download=False))
val_dataloader = dict(dataset=dict(download=False))
test_dataloader = dict(dataset=dict(download=False))
param_scheduler = dict(milestones=[81, 122])
train_cfg = dict(max_epochs=164)
auto_scale_lr = dict(base_batch_size=128)
