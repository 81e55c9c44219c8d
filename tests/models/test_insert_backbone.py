"""BackboneWithBlocks: blocks after named submodules of any backbone."""
import copy
import logging

import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.registry import MODELS, init_default_scope

import mmattn  # noqa: F401
from mmattn.blocks import EfficientChannelAttention, SqueezeExcitation
from mmattn.models.backbones import InsertedBlocks

R18 = dict(type='ResNetV1c', depth=18, out_indices=(0, 1, 2, 3))
SE = dict(type='mmattn.SqueezeExcitation', reduction=16)
ECA = dict(type='mmattn.EfficientChannelAttention')
INSERT = [dict(after='layer2.1', block=SE),
          dict(after='layer3.0', block=SE),
          dict(after='layer3.0', block=ECA)]


def _build(backbone=R18, insert=INSERT, scope='mmseg', **kwargs):
    init_default_scope(scope)
    return MODELS.build(dict(type='mmattn.BackboneWithBlocks',
                             backbone=backbone, insert=insert, **kwargs))


def _plain_keys(model):
    return {k: v for k, v in model.state_dict().items()
            if not k.startswith('inserted.')}


class _Lines(logging.Handler):

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines += record.getMessage().splitlines()


def test_resnet18_basic_blocks_several_blocks_per_point():
    torch.manual_seed(0)
    model = _build()
    init_default_scope('mmseg')
    plain = MODELS.build(R18)
    model.eval()  # mmseg's ResNet.train() returns None: no chaining
    plain.eval()
    # the backbone keeps its class and every key; only inserted.* is new
    assert type(model) is type(plain)
    assert isinstance(model.inserted, InsertedBlocks)
    assert set(_plain_keys(model)) == set(plain.state_dict())
    assert model.inserted.points == {'layer2_1__0': 'layer2.1',
                                     'layer3_0__0': 'layer3.0',
                                     'layer3_0__1': 'layer3.0'}
    se2, se3, eca3 = (model.inserted[k] for k in model.inserted.points)
    assert isinstance(se2, SqueezeExcitation) and se2.in_channels == 128
    assert isinstance(se3, SqueezeExcitation) and se3.in_channels == 256
    assert isinstance(eca3, EfficientChannelAttention)
    assert eca3.conv.kernel_size == (5, )  # ECA's k for C=256
    assert plain.load_state_dict(_plain_keys(model), strict=True)

    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        outs = model(x)
        # the same network written out by hand
        h = plain.maxpool(plain.stem(x))
        c1 = plain.layer1(h)
        c2 = se2(plain.layer2(c1))
        c3 = plain.layer3[1](eca3(se3(plain.layer3[0](c2))))
        c4 = plain.layer4(c3)
        ref_plain = plain(x)
    for out, ref in zip(outs, (c1, c2, c3, c4)):
        torch.testing.assert_close(out, ref)
    torch.testing.assert_close(outs[0], ref_plain[0])
    assert not torch.allclose(outs[1], ref_plain[1])

    # a deep copy (EMA) runs its own blocks, not the original's
    twin = copy.deepcopy(model)
    twin.eval()
    with torch.no_grad():
        twin.inserted['layer2_1__0'].mlp.fc2.bias.fill_(-30.0)  # gate ~ 0
        assert twin(x)[1].abs().max() < 1e-6
        torch.testing.assert_close(model(x)[1], outs[1])

    # gradients reach the inserted blocks
    model.train()
    model(x)[3].sum().backward()
    assert se2.mlp.fc1.weight.grad is not None


def test_after_accepts_several_names_each_gets_its_own_block():
    model = _build(insert=[dict(after=['layer4.0', 'layer4.1'], block=SE)])
    assert sorted(model.inserted) == ['layer4_0__0', 'layer4_1__0']
    a, b = model.inserted.values()
    assert a is not b and a.in_channels == b.in_channels == 512


def test_mmdet_cspdarknet_stage():
    backbone = dict(type='CSPDarknet', deepen_factor=0.33, widen_factor=0.25,
                    out_indices=(2, 3, 4))
    model = _build(backbone, [dict(after='stage3', block=SE)],
                   scope='mmdet')
    init_default_scope('mmdet')
    plain = MODELS.build(backbone)
    model.eval()
    plain.eval()
    plain.load_state_dict(_plain_keys(model), strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        outs, refs = model(x), plain(x)
    assert model.inserted['stage3__0'].in_channels == refs[1].shape[1] == 128
    assert [o.shape for o in outs] == [r.shape for r in refs]
    torch.testing.assert_close(outs[0], refs[0])
    with torch.no_grad():
        expected = plain.stage4(model.inserted['stage3__0'](refs[1]))
    torch.testing.assert_close(outs[1], model.inserted['stage3__0'](refs[1]))
    torch.testing.assert_close(outs[2], expected)


def test_unknown_name_lists_close_matches():
    with pytest.raises(ValueError, match=r"after='layer2\.9'.*layer2\.1"):
        _build(insert=[dict(after='layer2.9', block=SE)])
    with pytest.raises(TypeError, match=r'dict\(block=\.\.\., and one of '
                       r'after=.*after_regex=.*where='):
        _build(insert=[dict(point='layer2.1', block=SE)])


def test_points_that_are_no_map_or_grid_are_refused_with_the_name():
    swin = dict(type='SwinTransformer', embed_dims=16, depths=(1, 1),
                num_heads=(1, 1), strides=(4, 2), out_indices=(0, 1),
                window_size=4)
    # a stage outputs a tuple
    with pytest.raises(ValueError, match=r"after='stages\.0'.*\(N, C, H, W\)"
                       r".*a tuple"):
        _build(swin, [dict(after='stages.0', block=SE)])
    # norm1 sees stage 2's 8x8 tokens, called without hw_shape: the only
    # grid known is the patch embedding's 16x16
    with pytest.raises(ValueError, match=r"after='norm1'.*\(1, 64, 32\) "
                       r"\(fewer tokens than its grid \(16, 16\)"):
        _build(swin, [dict(after='norm1', block=SE)])
    # a point that is a feature map works on Swin too
    model = _build(swin, [dict(after='patch_embed.projection', block=SE)])
    assert model.inserted['patch_embed_projection__0'].in_channels == 16


def test_pretrained_plain_checkpoint_one_line(tmp_path):
    torch.manual_seed(0)
    init_default_scope('mmseg')
    plain = MODELS.build(R18)
    path = str(tmp_path / 'r18.pth')
    torch.save({'state_dict': plain.state_dict()}, path)
    logger = MMLogger.get_instance('test_insert_backbone', log_level='INFO')
    handler = _Lines()
    logger.addHandler(handler)
    model = _build(dict(R18, init_cfg=dict(type='Pretrained',
                                           checkpoint=path)))
    model.init_weights()
    for key, value in plain.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value)
    new = [line for line in handler.lines if 'inserted block' in line]
    assert len(new) == 1, handler.lines
    assert 'no weights for the 3 inserted block(s)' in new[0]
    assert 'inserted.layer3_0__1 (EfficientChannelAttention after ' \
        'layer3.0)' in new[0]
    assert not any('missing keys' in line for line in handler.lines)

    # torch's loader too, strict or not
    for strict in (True, False):
        result = model.load_state_dict(plain.state_dict(), strict=strict)
        assert result.missing_keys == [] and result.unexpected_keys == []

    # a checkpoint with some inserted weights gets the normal report
    partial = model.state_dict()
    del partial['inserted.layer2_1__0.mlp.fc1.weight']
    result = model.load_state_dict(partial, strict=False)
    assert result.missing_keys == ['inserted.layer2_1__0.mlp.fc1.weight']


def test_pretrained_from_mmseg_model_pretrained():
    # mmseg's EncoderDecoder hands model.pretrained to the backbone cfg
    with pytest.raises(ValueError, match='pretrained is given both'):
        _build(dict(R18, pretrained='a.pth'), pretrained='b.pth')
    model = _build(pretrained='open-mmlab://resnet18_v1c')
    assert model.init_cfg == dict(type='Pretrained',
                                  checkpoint='open-mmlab://resnet18_v1c')


SK_RESNET = dict(type='ResNet', depth=50, init_cfg=None,
                 dcn=dict(type='mmattn.SelectiveKernelConv'),
                 stage_with_dcn=(True, True, True, True))


def test_remove_gives_sk_resnet_the_authors_layout():
    """#11 item 4: through the dcn= slot a Bottleneck keeps bn2 + ReLU after
    the SK conv; remove= drops bn2 and the Bottleneck computes the
    reference's relu(bn3(conv3(SK(relu(bn1(conv1(x)))))) + shortcut)."""
    from helpers import randomise
    from mmattn.blocks import SelectiveKernelConv
    torch.manual_seed(0)
    model = _build(SK_RESNET, insert=None, scope='mmdet',
                   remove=r'layer\d+\.\d+\.bn2')
    blocks = [b for layer in (model.layer1, model.layer2, model.layer3,
                              model.layer4) for b in layer]
    assert len(blocks) == 16
    assert all(isinstance(b.conv2, SelectiveKernelConv) for b in blocks)
    assert all(isinstance(b.bn2, torch.nn.Identity) for b in blocks)
    assert not [k for k in model.state_dict() if '.bn2.' in k]
    block = randomise(model.layer2[0]).eval()  # stride 2, with downsample
    x = torch.randn(2, 256, 15, 13)
    with torch.no_grad():
        reference = torch.relu(
            block.bn3(block.conv3(block.conv2(torch.relu(block.bn1(
                block.conv1(x)))))) + block.downsample(x))
        assert torch.allclose(block(x), reference, rtol=1e-5, atol=1e-5)
        # the stock layout differs: its bn2 normalises the SK output
        stock = randomise(_build(SK_RESNET, insert=None, scope='mmdet',
                                 remove=r'layer1\.0\.bn2').layer2[0]).eval()
        stock.load_state_dict(block.state_dict(), strict=False)
        assert not torch.allclose(stock(x), reference, atol=1e-3)


@pytest.mark.parametrize('remove, match', [
    (r'layer\d\.\d\.norm9', r"remove='layer\\\\d\\\\.\\\\d\\\\.norm9' matches "
     'no submodule of ResNetV1c'),
    ('layer1.(', 'not a valid regular expression'),
])
def test_remove_errors_name_the_pattern(remove, match):
    with pytest.raises(ValueError, match=match):
        _build(insert=None, remove=remove)


def test_backbone_with_blocks_needs_insert_or_remove():
    with pytest.raises(TypeError, match='needs insert=.* or remove='):
        _build(insert=None)


# ------------------------------------------------ patterns and roles (#13)
R50_MMDET = dict(type='ResNet', depth=50, norm_cfg=dict(type='BN'))


def test_where_residual_is_mmdets_after_conv3_plugin_position():
    """On a Bottleneck the residual branch ends with norm3; mmdet's
    ``after_conv3`` plugins sit there too (after norm3, before the add): with
    the same weights both models compute the same thing."""
    torch.manual_seed(0)
    ours = _build(R50_MMDET, [dict(where='residual', block=SE)],
                  scope='mmdet')
    assert len(ours.inserted) == 16
    assert list(ours.inserted.points.values())[:2] == ['layer1.0.bn3',
                                                       'layer1.1.bn3']
    init_default_scope('mmdet')
    theirs = MODELS.build(dict(R50_MMDET, plugins=[dict(
        cfg=SE, stages=(True, True, True, True), position='after_conv3')]))
    state = _plain_keys(ours)
    for key, point in ours.inserted.points.items():
        block = point.rsplit('.', 1)[0]
        for name, value in ours.inserted[key].state_dict().items():
            state[f'{block}.se.{name}'] = value
    theirs.load_state_dict(state, strict=True)
    ours.eval()
    theirs.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(ours(x), theirs(x)):
            torch.testing.assert_close(a, b)


def test_where_residual_on_basic_blocks_and_a_glob():
    """ResNet-18 (mmdet's plugins are 'Not implemented yet' there): the
    branch of a BasicBlock ends with norm2; the glob 'layer*.*.bn2' names
    the same points; one block computes relu(SE(bn2(...)) + x)."""
    torch.manual_seed(0)
    model = _build(insert=[dict(where='residual', block=SE)])
    points = list(model.inserted.points.values())
    assert points == [f'layer{i}.{j}.bn2' for i in range(1, 5)
                      for j in range(2)]
    by_glob = _build(insert=[dict(after='layer*.*.bn2', block=SE)])
    assert list(by_glob.inserted.points.values()) == points
    model.eval()
    block, se = model.layer2[1], model.inserted['layer2_1_bn2__0']
    x = torch.randn(2, 128, 8, 8)
    with torch.no_grad():
        # bn2.forward, not bn2(): calling it would run the hook, SE included
        branch = block.bn2.forward(
            block.conv2(block.relu(block.bn1(block.conv1(x)))))
        torch.testing.assert_close(block(x), torch.relu(se(branch) + x))
        assert not torch.allclose(block(x), torch.relu(branch + x))


def test_where_stage_with_stages_and_several_blocks_in_order():
    torch.manual_seed(0)
    model = _build(insert=[dict(where='stage', stages=(False, True, True,
                                                       False),
                                block=[SE, ECA])])
    assert model.inserted.points == {
        'layer2__0': 'layer2', 'layer2__1': 'layer2',
        'layer3__0': 'layer3', 'layer3__1': 'layer3'}
    assert isinstance(model.inserted['layer2__0'], SqueezeExcitation)
    assert isinstance(model.inserted['layer2__1'], EfficientChannelAttention)
    init_default_scope('mmseg')
    plain = MODELS.build(R18)
    plain.load_state_dict(_plain_keys(model), strict=True)
    model.eval()
    plain.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        stem = plain.maxpool(plain.stem(x))
        y2 = plain.layer2(plain.layer1(stem))
        y2 = model.inserted['layer2__1'](model.inserted['layer2__0'](y2))
        torch.testing.assert_close(model(x)[1], y2)


def test_where_stage_on_cspdarknet_and_a_regex():
    backbone = dict(type='CSPDarknet', deepen_factor=0.33, widen_factor=0.25,
                    out_indices=(2, 3, 4))
    model = _build(backbone, [dict(where='stage', block=SE)], scope='mmdet')
    assert list(model.inserted.points.values()) == [
        'stage1', 'stage2', 'stage3', 'stage4']
    model = _build(insert=[dict(after_regex=r'layer[34]\.\d', block=ECA)])
    assert list(model.inserted.points.values()) == [
        'layer3.0', 'layer3.1', 'layer4.0', 'layer4.1']


@pytest.mark.parametrize('entry, error, match', [
    (dict(after='layer9.*', block=SE), ValueError,
     r"after='layer9\.\*' matches no submodule of ResNetV1c; close names"),
    (dict(after_regex='layer(', block=SE), ValueError,
     r"after_regex='layer\(' is not a valid regular expression"),
    (dict(where='everywhere', block=SE), ValueError,
     r"where must be one of \('residual', 'stage'\), got 'everywhere'"),
    (dict(where='stage', stages=(True, ), block=SE), ValueError,
     r'stages must be a tuple of 4 bools'),
    (dict(after='layer1', where='stage', block=SE), TypeError,
     r'one of after=.*got'),
    (dict(after='layer1', stages=(True, ) * 4, block=SE), TypeError,
     r'one of after='),
    (dict(after='layer1', block=[SE, 'ECA']), TypeError,
     r'block must be a config dict with a type, or a list of them'),
])
def test_pattern_and_role_errors_name_what_is_wrong(entry, error, match):
    with pytest.raises(error, match=match):
        _build(insert=[entry])


def test_where_residual_needs_residual_blocks():
    backbone = dict(type='CSPDarknet', deepen_factor=0.33, widen_factor=0.25)
    with pytest.raises(ValueError, match=r"where='residual' found no "
                       r'residual blocks.*CSPDarknet'):
        _build(backbone, [dict(where='residual', block=SE)], scope='mmdet')


@pytest.mark.parametrize('block', [
    dict(type='mmattn.SalientPositionAttention', k=4, zero_init=True),
    dict(type='mmattn.GlobalContext', ratio=1 / 4),
    dict(type='mmattn.EfficientAttention', zero_init=True),
])
def test_identity_start_survives_the_host_backbones_init(block):
    """mmseg's ResNet initialises every Conv2d (Kaiming) and norm (1) it
    holds, the inserted blocks included; the blocks' own init_weights must
    come after it, so a zero start is still the identity in the network."""
    torch.manual_seed(0)
    model = _build(insert=[dict(after=['layer1.0', 'layer2.1'],
                                block=block)])
    init_default_scope('mmseg')
    torch.manual_seed(0)
    plain = MODELS.build(R18)
    model.init_weights()
    plain.load_state_dict(_plain_keys(model))
    model.eval()
    plain.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(model(x), plain(x)):
            assert torch.equal(a, b)
    # and the blocks are not the identity once the backbone's init runs
    # without them re-initialising (the failure this guards against)
    model.inserted.init_weights = lambda: None
    model._is_init = False
    model.init_weights()
    with torch.no_grad():
        assert not torch.equal(model(x)[-1], plain(x)[-1])
