"""Attention in every common backbone family of mmseg, mmdet and mmpretrain
through ``mmattn.BackboneWithBlocks`` (#13): each family, at a small width,
gets blocks by pattern or by role, trains one step (every inserted block
reaches a gradient) and loads the plain backbone's state dict strictly (its
keys are unchanged; only ``inserted.*`` is new). Transformers (Swin, MiT,
plain ViTs with a class token) get the blocks on the grid of their tokens."""
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
    'mmseg Swin': (
        'mmseg', dict(type='SwinTransformer', embed_dims=16,
                      depths=(1, 1, 2, 1), num_heads=(1, 1, 2, 2),
                      window_size=4),
        [dict(where='stage', block=SE)], 4),
    'mmseg MiT (SegFormer)': (
        'mmseg', dict(type='MixVisionTransformer', embed_dims=8,
                      num_layers=(1, 1, 2, 1), num_heads=(1, 1, 2, 2)),
        [dict(where='stage', block=CBAM)], 4),
    'mmseg ViT (class token)': (
        'mmseg', dict(type='VisionTransformer', img_size=(64, 64),
                      embed_dims=16, num_layers=4, num_heads=2,
                      out_indices=(1, 3)),
        [dict(after=['layers.1', 'layers.3'], block=SE)], 2),
    'mmseg BEiT': (
        'mmseg', dict(type='BEiT', img_size=(64, 64), embed_dims=16,
                      num_layers=2, num_heads=2, out_indices=(1, )),
        [dict(after='layers.*', block=CBAM)], 2),
    'mmseg MAE': (
        'mmseg', dict(type='MAE', img_size=(64, 64), embed_dims=16,
                      num_layers=2, num_heads=2, out_indices=(1, )),
        [dict(after='layers.1', block=SE)], 1),
    'mmpretrain ResNet-50': (
        'mmpretrain', dict(type='ResNet', depth=50, base_channels=8,
                           stem_channels=16),
        [dict(where='residual', block=SE)], 16),
    'mmpretrain ConvNeXt-atto': (
        'mmpretrain', dict(type='ConvNeXt', arch='atto'),
        [dict(where='stage', block=SE)], 4),
    'mmpretrain Swin-T': (
        'mmpretrain', dict(type='SwinTransformer', arch=dict(
            embed_dims=16, depths=[1, 1, 2, 1], num_heads=[1, 1, 2, 2]),
            img_size=64, window_size=4, out_indices=(0, 1, 2, 3),
            pad_small_map=True),
        [dict(where='stage', stages=(False, False, True, True),
              block=CBAM)], 2),
    'mmpretrain ViT (DeiT-tiny)': (
        'mmpretrain', dict(type='VisionTransformer', arch=dict(
            embed_dims=16, num_layers=2, num_heads=2,
            feedforward_channels=32), img_size=64, out_type='featmap'),
        [dict(after='layers.0', block=SE)], 1),
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


def test_vit_tokens_go_through_the_block_on_their_grid():
    """The class token passes; the grid tokens are the block's output on
    the (N, C, H, W) map they form (row-major, as ViTs lay patches)."""
    init_default_scope('mmseg')
    cfg = dict(type='VisionTransformer', img_size=(64, 48), embed_dims=16,
               num_layers=2, num_heads=2, out_indices=(1, ))
    torch.manual_seed(0)
    model = MODELS.build(dict(type='mmattn.BackboneWithBlocks', backbone=cfg,
                              insert=[dict(after='layers.0', block=SE)]))
    block = model.inserted['layers_0__0']
    seen = {}
    model.layers[1].register_forward_pre_hook(
        lambda m, args: seen.setdefault('into_layer1', args[0]))
    plain = MODELS.build(cfg)
    plain.load_state_dict(
        {k: v for k, v in model.state_dict().items()
         if not k.startswith('inserted.')})
    plain.layers[0].register_forward_hook(
        lambda m, args, out: seen.setdefault('plain', out))
    model.eval()
    plain.eval()
    x = torch.randn(2, 3, 80, 48)  # a 5 x 3 patch grid, not the img_size
    with torch.no_grad():
        model(x)
        plain(x)
        tokens = seen['plain']
        grid = tokens[:, 1:].transpose(1, 2).reshape(2, 16, 5, 3)
        expected = torch.cat(
            [tokens[:, :1], block(grid).flatten(2).transpose(1, 2)], dim=1)
    assert torch.allclose(seen['into_layer1'], expected, atol=1e-6)
    assert not torch.allclose(expected, tokens, atol=1e-3)


def test_swin_stage_tokens_reach_the_decoder_through_the_block():
    """where='stage' on Swin: after the last block of each stage, so the
    stage's output (what goes to the decoder) is the block's."""
    init_default_scope('mmseg')
    cfg = dict(type='SwinTransformer', embed_dims=16, depths=(1, 2),
               num_heads=(1, 2), strides=(4, 2), out_indices=(0, 1),
               window_size=4)
    torch.manual_seed(0)
    model = MODELS.build(dict(type='mmattn.BackboneWithBlocks', backbone=cfg,
                              insert=[dict(where='stage', block=SE)]))
    assert list(model.inserted.points.values()) == [
        'stages.0.blocks.0', 'stages.1.blocks.1']
    for block in model.inserted.values():  # a gate of 0: the map is zeroed
        torch.nn.init.constant_(block.mlp.fc2.weight, 0)
        torch.nn.init.constant_(block.mlp.fc2.bias, -100)
    model.eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 64))
    # norm of all-zero tokens is the norm's bias, the same at every position
    for out in outs:
        assert torch.allclose(out, out[:, :, :1, :1].expand_as(out),
                              atol=1e-5)
