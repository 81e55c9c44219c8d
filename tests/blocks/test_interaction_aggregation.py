"""IAUnet's interaction units (channel, spatial and both) against their
formulas written out in plain torch (loops over parts)."""
import pytest
import torch
import torch.nn.functional as F
from block_checks import check_plugin_in_resnet
from reference_formulas import batch_norm, pointwise

import mmattn  # noqa: F401  (registers the mmattn.* names)
from mmattn.blocks import (ChannelInteractionUnit,
                           InteractionAggregationUpdate,
                           SpatialInteractionUnit)
from helpers import (assert_bf16_autocast_close, assert_deterministic,
                      assert_every_parameter_used, assert_gradients_match,
                      assert_input_shape_checked, assert_matches_reference,
                      export_opset17_and_check, randomise)

SHAPES = [(2, 16, 7, 5), (1, 16, 1, 1), (1, 16, 3, 9), (3, 16, 16, 8),
          (2, 16, 9, 13)]


# ---------------------------------------------------------------- references
def conv_norm(seq, y):
    """A (1x1 conv, BN) sequence written out."""
    return batch_norm(seq[1], pointwise(seq[0], y))


def reference_ciau(unit, x):
    """Hou et al.: F = softmax(X X^T), Y = F X, z = x + BN(conv(Y))."""
    flat = x.flatten(2)  # (N, C, P)
    energy = torch.einsum('ncp,ndp->ncd', flat, flat)
    weights = torch.exp(energy - energy.amax(-1, keepdim=True))
    weights = weights / weights.sum(-1, keepdim=True)
    y = torch.einsum('ncd,ndp->ncp', weights, flat).view_as(x)
    return x + conv_norm(unit.update, y)


def reference_siau(unit, z):
    """Part maps, part features (sums), shared reduction, edges from
    |p_i - p_j| and u with the self edge left out of the softmax, messages,
    then a broadcast update; loops over parts."""
    k = unit.num_parts
    a = torch.sigmoid(conv_norm(unit.part_attention, z))  # (N, K, H, W)
    parts = [(a[:, i:i + 1] * z).sum(dim=(2, 3)) for i in range(k)]
    u = z.mean(dim=(2, 3))

    def g(v):  # (N, C) -> (N, C')
        return v @ unit.reduce.weight.flatten(1).t() + unit.reduce.bias

    parts, u = [g(p) for p in parts], g(u)
    edge_inputs = torch.stack([
        torch.stack([torch.cat([(parts[i] - parts[j]).abs(), u], dim=1)
                     for j in range(k)], dim=2) for i in range(k)
    ], dim=2)  # (N, 2C', K_i, K_j)
    logits = conv_norm(unit.edge, edge_inputs)[:, 0]  # (N, K, K)
    messages = []
    for i in range(k):
        others = [j for j in range(k) if j != i]
        e = torch.exp(logits[:, i, others])
        w = e / e.sum(dim=1, keepdim=True)
        neighbour = sum(w[:, m:m + 1] * parts[j] for m, j in enumerate(others))
        messages.append(torch.cat([parts[i], neighbour], dim=1))
    messages = F.relu(conv_norm(unit.message,
                                torch.stack(messages, dim=2)))  # (N, C', K)
    summary = torch.cat([messages.mean(dim=2), u], dim=1)
    return z + conv_norm(unit.update, summary)[:, :, None, None]


def reference_iau(block, x):
    return reference_siau(block.spatial, reference_ciau(block.channel, x))


BLOCKS = {
    'ciau': (lambda c: ChannelInteractionUnit(c), reference_ciau),
    'siau': (lambda c: SpatialInteractionUnit(c), reference_siau),
    'siau_k3_r4': (lambda c: SpatialInteractionUnit(c, num_parts=3,
                                                    reduction=4),
                   reference_siau),
    'iau': (lambda c: InteractionAggregationUpdate(c), reference_iau),
}


# ------------------------------------------------------------------ formulas
@pytest.mark.reference(blocks=[ChannelInteractionUnit, SpatialInteractionUnit,
                               InteractionAggregationUpdate])
@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('name', list(BLOCKS))
def test_matches_formula(name, shape):
    assert_matches_reference(*BLOCKS[name], shape, rtol=1e-4,
                             atol=1e-4)


@pytest.mark.parametrize('name', list(BLOCKS))
def test_gradients_match_and_reach_every_parameter(name):
    block, x = assert_gradients_match(
        *BLOCKS[name], (3, 16, 9, 7), dict(rtol=1e-4, atol=1e-4),
        input_tol=dict(rtol=1e-3, atol_scale=1e-5),
        param_tol=dict(rtol=1e-3, atol_scale=1e-4), check_used=False)
    # The edge conv's and edge norm's biases shift every logit of a softmax
    # equally: their gradient is 0 in any mode, but they are in the graph.
    # (SIAU's reduce and update conv biases are kept as in the reference.)
    assert_every_parameter_used(block, x,
                                exempt=('edge.0.bias', 'edge.1.bias'))


# ------------------------------------------------------------------ init
@pytest.mark.parametrize('name', ['ciau', 'siau', 'iau'])
@pytest.mark.parametrize('train', [False, True])
def test_iau_units_start_as_identity(name, train):
    torch.manual_seed(0)
    block = BLOCKS[name][0](16).train(train)
    x = torch.randn(2, 16, 5, 7)
    assert torch.equal(block(x), x)


# ------------------------------------------------------- autocast, determinism
@pytest.mark.parametrize('name', ['ciau', 'siau', 'iau'])
def test_bf16_autocast_large_inputs_stay_finite(name):
    torch.manual_seed(0)
    assert_bf16_autocast_close(randomise(BLOCKS[name][0](16)).eval())


def test_deterministic_mode():
    assert_deterministic(BLOCKS)


# ------------------------------------------------------------ bad arguments
SIAU = SpatialInteractionUnit


@pytest.mark.parametrize('cls, kwargs, match', [
    (ChannelInteractionUnit, dict(in_channels=0), r'in_channels.*got 0'),
    (SIAU, dict(in_channels=0), r'in_channels.*got 0'),
    (SIAU, dict(in_channels=1), r'reduction.*<= in_channels \(1\).*got 2'),
    (SIAU, dict(in_channels=8, num_parts=1), r'num_parts.*>= 2.*got 1'),
    (SIAU, dict(in_channels=8, num_parts=0), r'num_parts.*got 0'),
    (SIAU, dict(in_channels=8, reduction=0), r'reduction.*got 0'),
    (InteractionAggregationUpdate, dict(in_channels=8, num_parts=2.0),
     r'num_parts.*got 2\.0'),
])
def test_bad_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


@pytest.mark.parametrize('name', ['ciau', 'siau', 'iau'])
def test_bad_input_shape(name):
    assert_input_shape_checked(BLOCKS[name][0](16), 16, 8)


# ------------------------------------------------------------------ plugins
@pytest.mark.parametrize('scope', ['mmseg', 'mmdet'])
@pytest.mark.parametrize('name', [
    'InteractionAggregationUpdate', 'ChannelInteractionUnit',
    'SpatialInteractionUnit'])
def test_plugin_in_resnet(scope, name):
    check_plugin_in_resnet(scope, dict(type=f'mmattn.{name}'), 'after_conv1',
                           identity=1.0)


# -------------------------------------------------------------------- ONNX
@pytest.mark.filterwarnings('ignore')
@pytest.mark.parametrize('name', ['ciau', 'siau', 'iau'])
def test_onnx_export_opset17_dynamic_hw(name, tmp_path):
    torch.manual_seed(0)
    block = randomise(BLOCKS[name][0](16)).eval()
    export_opset17_and_check(block, tmp_path / f'{name}.onnx')


def test_spatial_unit_refuses_a_training_batch_of_one_by_name():
    unit = SpatialInteractionUnit(16).train()
    with pytest.raises(ValueError, match='norm_cfg'):
        unit(torch.randn(1, 16, 5, 4))
    unit.eval()(torch.randn(1, 16, 5, 4))  # inference at batch 1 works
    unit.train()(torch.randn(2, 16, 5, 4))
