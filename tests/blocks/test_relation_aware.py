"""RelationAwareAttention (RGA) against its formula written out in plain
torch (explicit loops over node pairs, native pooling and interpolation)."""
import pytest
import torch
import torch.nn.functional as F
from block_checks import check_plugin_in_resnet
from reference_formulas import conv_module

import mmattn  # noqa: F401  (registers the mmattn.* names)
from mmattn.blocks import RelationAwareAttention
from helpers import (assert_bf16_autocast_close, assert_deterministic,
                      assert_gradients_match, assert_input_shape_checked,
                      assert_matches_reference, export_opset17_and_check,
                      randomise)

SHAPES = [(2, 16, 7, 5), (1, 16, 1, 1), (1, 16, 3, 9), (3, 16, 3, 5),
          (2, 16, 9, 13)]


# ---------------------------------------------------------------- references
def _relation_gate(theta_m, phi_m, embed_m, relation_m, gate_m, nodes):
    """The RGA gate logits of one variant for node features ``nodes``
    (N, F, V): F features per node, V nodes, by explicit loops over pairs."""
    theta = conv_module(theta_m, nodes)  # (N, F', V)
    phi = conv_module(phi_m, nodes)
    v = nodes.size(2)
    relation = torch.zeros(nodes.size(0), v, v)
    for i in range(v):
        for j in range(v):
            relation[:, i, j] = (theta[:, :, i] * phi[:, :, j]).sum(1)
    # node i: [R(i, :), R(:, i)]
    vectors = torch.stack([torch.cat([relation[:, i, :], relation[:, :, i]],
                                     dim=1) for i in range(v)], dim=2)
    y = torch.cat([conv_module(embed_m, nodes).mean(1, keepdim=True),
                   conv_module(relation_m, vectors)], dim=1)
    return conv_module(gate_m[1], conv_module(gate_m[0], y))  # (N, 1, V)


def reference_rga(block, x):
    """Zhang et al.: spatial gate, then channel gate, each from relation
    vectors, on x average-pooled to the block's grid; the spatial gate is
    resized back bilinearly."""
    h, w = block.spatial_size
    if block.use_spatial:
        pooled = F.adaptive_avg_pool2d(x, (h, w)).flatten(2)  # (N, C, P)
        logits = _relation_gate(block.theta_s, block.phi_s, block.embed_s,
                                block.relation_s, block.gate_s, pooled)
        gate = torch.sigmoid(logits).view(-1, 1, h, w)
        x = x * F.interpolate(gate, size=x.shape[2:], mode='bilinear',
                              align_corners=False)
    if block.use_channel:
        pooled = F.adaptive_avg_pool2d(x, (h, w)).flatten(2)
        logits = _relation_gate(block.theta_c, block.phi_c, block.embed_c,
                                block.relation_c, block.gate_c,
                                pooled.transpose(1, 2))  # (N, P, C)
        x = x * torch.sigmoid(logits).view(x.size(0), -1, 1, 1)
    return x


BLOCKS = {
    'rga_sc': (lambda c: RelationAwareAttention(c, spatial_size=(3, 5)),
               reference_rga),
    'rga_s': (lambda c: RelationAwareAttention(
        c, spatial_size=(4, 4), mode='spatial'), reference_rga),
    'rga_c': (lambda c: RelationAwareAttention(
        c, spatial_size=(5, 3), mode='channel', channel_ratio=2,
        spatial_ratio=2, down_ratio=2), reference_rga),
}


# ------------------------------------------------------------------ formulas
@pytest.mark.reference(blocks=[RelationAwareAttention])
@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('name', list(BLOCKS))
def test_matches_formula(name, shape):
    assert_matches_reference(*BLOCKS[name], shape, rtol=1e-4,
                             atol=1e-5)


@pytest.mark.parametrize('name', list(BLOCKS))
def test_gradients_match_and_reach_every_parameter(name):
    # a conv followed by a one-channel BN gets a gradient that is a
    # cancellation of much larger terms: compare on the scale of them all
    assert_gradients_match(
        *BLOCKS[name], (3, 16, 6, 7), dict(rtol=1e-4, atol=1e-5),
        param_tol=dict(rtol=1e-3, atol_scale=1e-5))


def test_rga_structure_follows_spatial_size():
    block = RelationAwareAttention(64, spatial_size=(8, 4))
    assert block.num_positions == 32
    assert block.relation_s.conv.in_channels == 2 * 32  # [R(i,:); R(:,i)]
    assert block.relation_s.conv.out_channels == 32 // 8
    assert block.theta_s.conv.out_channels == 64 // 8
    assert block.theta_c.conv.in_channels == 32
    assert block.relation_c.conv.in_channels == 2 * 64
    assert block.gate_c[1].conv.out_channels == 1
    assert not hasattr(RelationAwareAttention(64, 4, 'spatial'), 'theta_c')
    assert not hasattr(RelationAwareAttention(64, 4, 'channel'), 'theta_s')


# ------------------------------------------------------- autocast, determinism
@pytest.mark.parametrize('name', ['rga_sc'])
def test_bf16_autocast_large_inputs_stay_finite(name):
    torch.manual_seed(0)
    assert_bf16_autocast_close(BLOCKS[name][0](16).eval())


def test_deterministic_mode():
    assert_deterministic(BLOCKS)


# ------------------------------------------------------------ bad arguments
R = RelationAwareAttention


@pytest.mark.parametrize('cls, kwargs, match', [
    (R, dict(in_channels=0), r'in_channels.*got 0'),
    (R, dict(in_channels=16, spatial_size=0), r'spatial_size.*got \(0, 0\)'),
    (R, dict(in_channels=16, spatial_size=(4, 4, 4)),
     r'spatial_size.*got \(4, 4, 4\)'),
    (R, dict(in_channels=16, spatial_size=2.5), r'spatial_size.*got 2\.5'),
    (R, dict(in_channels=16, mode='both'),
     r"mode.*one of \('spatial', 'channel', 'spatial_channel'\).*'both'"),
    (R, dict(in_channels=4), r'channel_ratio.*<= in_channels \(4\).*got 8'),
    (R, dict(in_channels=16, spatial_size=2),
     r'spatial_ratio.*positions.*\(4\).*got 8'),
    (R, dict(in_channels=16, down_ratio=0), r'down_ratio.*got 0'),
])
def test_bad_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


@pytest.mark.parametrize('name', ['rga_sc'])
def test_bad_input_shape(name):
    assert_input_shape_checked(BLOCKS[name][0](16), 16, 8)


# ------------------------------------------------------------------ plugins
@pytest.mark.parametrize('scope', ['mmseg', 'mmdet'])
def test_plugin_in_resnet(scope):
    check_plugin_in_resnet(
        scope, dict(type='mmattn.RelationAwareAttention', spatial_size=4),
        'after_conv2', batch=1)


# -------------------------------------------------------------------- ONNX
@pytest.mark.filterwarnings('ignore')
@pytest.mark.parametrize('name', list(BLOCKS))
def test_onnx_export_opset17_dynamic_hw(name, tmp_path):
    """RGA's gates stay on its fixed grid; the pooling to it exports with
    dynamic H and W."""
    torch.manual_seed(0)
    block = randomise(BLOCKS[name][0](16)).eval()
    export_opset17_and_check(block, tmp_path / f'{name}.onnx')
