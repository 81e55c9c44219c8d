"""Attention in every common convolutional backbone family of mmseg and
mmdet through ``mmattn.BackboneWithBlocks`` (#13): each family, at a small
width, gets blocks by pattern or by role, trains one step (every inserted
block reaches a gradient) and loads the plain backbone's state dict
strictly (its keys are unchanged; only ``inserted.*`` is new)."""
import pytest
import torch
from mmengine.registry import MODELS, init_default_scope

import mmattn  # noqa: F401  (registers the mmattn.* names)

SE = dict(type='mmattn.SqueezeExcitation', reduction=4)
CBAM = dict(type='mmattn.CBAM', reduction=4)

_HRNET = dict(type='HRNet', extra=dict(
    stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK',
                num_blocks=(1, ), num_channels=(16, )),
    stage2=dict(num_modules=1, num_branches=2, block='BASIC',
                num_blocks=(1, 1), num_channels=(8, 16)),
    stage3=dict(num_modules=1, num_branches=3, block='BASIC',
                num_blocks=(1, 1, 1), num_channels=(8, 16, 32)),
    stage4=dict(num_modules=1, num_branches=4, block='BASIC',
                num_blocks=(1, 1, 1, 1), num_channels=(8, 16, 32, 64))))

#: family -> (scope, backbone config, insert entries, points expected)
FAMILIES = {
    'mmseg ResNetV1c-18 (BasicBlock)': (
        'mmseg', dict(type='ResNetV1c', depth=18, base_channels=16,
                      stem_channels=16),
        [dict(where='residual', block=SE)], 8),
    'mmseg ResNetV1d-50': (
        'mmseg', dict(type='ResNetV1d', depth=50, base_channels=8,
                      stem_channels=16),
        [dict(where='residual', stages=(False, False, True, True),
              block=SE)], 9),
    'mmdet ResNet-34 (BasicBlock)': (
        'mmdet', dict(type='ResNet', depth=34, base_channels=8),
        [dict(where='residual', block=[SE, CBAM])], 16),
    'mmdet ResNeXt-50': (
        'mmdet', dict(type='ResNeXt', depth=50, groups=4, base_width=4,
                      base_channels=8),
        [dict(after='layer*.*.bn3', block=SE)], 16),
    'mmdet ResNeSt-50': (
        'mmdet', dict(type='ResNeSt', depth=50, stem_channels=16,
                      base_channels=8),
        [dict(where='stage', block=CBAM)], 4),
    'mmdet RegNetX-400MF': (
        'mmdet', dict(type='RegNet', arch='regnetx_400mf'),
        [dict(where='residual', stages=(False, True, True, True),
              block=SE)], 21),
    'mmdet HRNet': (
        'mmdet', _HRNET, [dict(where='residual', block=SE)], 1 + 9),
    'mmseg MobileNetV2': (
        'mmseg', dict(type='MobileNetV2', widen_factor=0.5),
        [dict(after_regex=r'layer[2-7]', block=SE)], 6),
    'mmseg MobileNetV3-small': (
        'mmseg', dict(type='MobileNetV3', arch='small'),
        [dict(after=['layer3', 'layer8'], block=CBAM)], 2),
    'mmdet CSPDarknet (YOLOX)': (
        'mmdet', dict(type='CSPDarknet', deepen_factor=0.33,
                      widen_factor=0.25),
        [dict(where='stage', block=CBAM)], 4),
    'mmdet CSPNeXt (RTMDet)': (
        'mmdet', dict(type='CSPNeXt', deepen_factor=0.167,
                      widen_factor=0.25),
        [dict(where='stage', stages=(False, True, True, True),
              block=SE)], 3),
}


def _outputs(model, x):
    out = model(x)
    return list(out) if isinstance(out, (list, tuple)) else [out]


@pytest.mark.parametrize('family', list(FAMILIES))
def test_blocks_train_in_the_family_and_plain_weights_load(family):
    scope, cfg, insert, num_points = FAMILIES[family]
    torch.manual_seed(0)
    init_default_scope(scope)
    model = MODELS.build(dict(type='mmattn.BackboneWithBlocks',
                              backbone=cfg, insert=insert))
    plain = MODELS.build(cfg)
    blocks_per_point = len(insert[0]['block']) if isinstance(
        insert[0]['block'], list) else 1
    assert len(set(model.inserted.points.values())) == num_points
    assert len(model.inserted) == num_points * blocks_per_point

    # the plain backbone's keys are the model's, and its weights load
    plain_state = plain.state_dict()
    ours = {k for k in model.state_dict() if not k.startswith('inserted.')}
    assert ours == set(plain_state)
    model.load_state_dict(plain_state, strict=True)  # inserted.*: new

    model.train()
    x = torch.randn(2, 3, 64, 64)
    outs = _outputs(model, x)
    plain.eval()
    with torch.no_grad():
        assert [o.shape for o in outs] == [o.shape for o in
                                           _outputs(plain, x)]
    sum(o.square().mean() for o in outs).backward()
    for key, block in model.inserted.items():
        grads = [p.grad for p in block.parameters()]
        assert grads and all(g is not None for g in grads), key
        assert any(g.abs().sum() > 0 for g in grads), key
