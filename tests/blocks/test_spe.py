"""SelfAdaptivePoolingAttention (SPEM) and its auxiliary loss hook."""
import copy
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_plugin_layer
from mmengine.model import BaseModel
from mmengine.runner import Runner

from mmattn.blocks.spe import SelfAdaptivePoolingAttention
from mmattn.engine.hooks.spe_penalty import SPEPenaltyHook

ALPHA = 0.1


def reference_forward(block, x):
    """SPEM from the formula of the paper (spec sheet section 23)."""
    flat = x.flatten(2)
    m = flat.max(dim=2).values[..., None, None]
    n = flat.min(dim=2).values[..., None, None]
    m2 = block.w2 * m + block.b2
    n2 = block.w2 * n + block.b2
    p_hat = block.p**2 / (block.p**2).sum()
    mix = p_hat[0] * m2 + p_hat[1] * n2
    gate = torch.sigmoid(m2 + n2) * torch.sigmoid(block.w1 * mix + block.b1)
    return x * gate


def random_block(channels, seed=0):
    """A block whose parameters are far from the (input-blind) init."""
    block = SelfAdaptivePoolingAttention(channels)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in block.parameters():
            param.copy_(torch.randn(param.shape, generator=gen))
    return block


@pytest.mark.reference(blocks=[SelfAdaptivePoolingAttention])
@pytest.mark.parametrize('shape', [(2, 16, 7, 9), (1, 8, 1, 1), (1, 3, 2, 5),
                                   (3, 5, 16, 8), (1, 4, 6, 1)])
def test_matches_formula(shape):
    block = random_block(shape[1])
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    out = block(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out, reference_forward(block, x),
                               rtol=1e-6, atol=1e-6)


def test_gradients_match_and_reach_every_parameter():
    block = random_block(6)
    x = torch.randn(2, 6, 5, 7, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    block(x).square().sum().backward()
    grads = {n: p.grad.clone() for n, p in block.named_parameters()}
    block.zero_grad()
    reference_forward(block, x2).square().sum().backward()
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-5, atol=1e-6)
    assert set(grads) == {'w1', 'b1', 'w2', 'b2', 'p'}
    for name, param in block.named_parameters():
        assert grads[name].abs().sum() > 0, name  # DDP needs every one used
        torch.testing.assert_close(grads[name], param.grad, rtol=1e-5,
                                   atol=1e-6, msg=name)


def test_init_values_and_gate():
    block = SelfAdaptivePoolingAttention(5)
    assert block.w1.shape == block.b2.shape == (1, 5, 1, 1)
    assert block.p.tolist() == [0.5, 0.5]
    assert (block.w1 == 0).all() and (block.w2 == 0).all()
    assert (block.b1 == -1).all() and (block.b2 == -1).all()
    # m' = n' = mix = -1 for every input: gate = sigmoid(-2) * sigmoid(-1)
    expected = 1 / (1 + math.exp(2)) / (1 + math.exp(1))
    assert abs(expected - 0.03206) < 1e-5
    x = torch.randn(3, 5, 4, 6) * 10
    torch.testing.assert_close(block(x), x * expected)
    torch.testing.assert_close(block.pooling_penalty(), torch.tensor(0.5))


def test_keeps_dtype_under_autocast():
    block = random_block(4)
    x = torch.randn(2, 4, 3, 3)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = block(x.bfloat16())
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), block(x), rtol=2e-2, atol=2e-2)


def test_deterministic_with_even_split_over_ties():
    block = random_block(3)
    # ReLU output: many zeros tie for the minimum of each channel
    x = F.relu(torch.randn(2, 3, 6, 5, generator=torch.Generator()
                           .manual_seed(2))).requires_grad_(True)
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        results = []
        for _ in range(2):
            x.grad = None
            block.zero_grad()
            out = block(x)
            out.sum().backward()
            results.append((out.detach(), x.grad.clone(),
                            [p.grad.clone() for p in block.parameters()]))
    finally:
        torch.use_deterministic_algorithms(previous)
    (out0, gx0, gp0), (out1, gx1, gp1) = results
    assert torch.equal(out0, out1) and torch.equal(gx0, gx1)
    assert all(torch.equal(a, b) for a, b in zip(gp0, gp1))
    # every tied minimum gets the same share of the pooled gradient
    ties = x.detach() == 0
    for n in range(2):
        for c in range(3):
            tied = gx0[n, c][ties[n, c]]
            assert ties[n, c].sum() > 1
            torch.testing.assert_close(tied, tied[:1].expand_as(tied))


@pytest.mark.parametrize('value', [0, -3, 2.5, True, None, '8'])
def test_bad_in_channels(value):
    with pytest.raises(ValueError, match='in_channels'):
        SelfAdaptivePoolingAttention(value)


def test_bad_input_shape():
    block = SelfAdaptivePoolingAttention(4)
    with pytest.raises(ValueError, match=r'\(N, 4, H, W\)'):
        block(torch.randn(1, 3, 4, 4))
    with pytest.raises(ValueError, match='x must have shape'):
        block(torch.randn(4, 4, 4))


def test_builds_as_mmcv_plugin():
    name, layer = build_plugin_layer(
        dict(type=SelfAdaptivePoolingAttention), in_channels=8, postfix=2)
    assert name == 'spe2' and layer.in_channels == 8


# ------------------------------------------------------ auxiliary loss


class _TinyNet(BaseModel):
    """conv + two SPEM blocks + linear head, an mmengine model."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.spe_a = random_block(8, seed=3)
        self.spe_b = random_block(8, seed=4)
        # random weights set on purpose: the Runner's init_weights() would
        # put the blocks back to the paper's start (mmengine skips children
        # marked initialised)
        self.spe_a.is_init = self.spe_b.is_init = True
        self.head = nn.Linear(8, 1)

    def forward(self, inputs, target=None, mode='tensor'):
        x = self.spe_b(F.relu(self.spe_a(self.conv(inputs))))
        y = self.head(x.mean((2, 3))).squeeze(1)
        if mode == 'loss':
            return dict(loss=F.mse_loss(y, target))
        return y


def _batches(num=3, size=2):
    gen = torch.Generator().manual_seed(5)
    return [dict(inputs=torch.randn(size, 3, 6, 5, generator=gen),
                 target=torch.randn(size, generator=gen)) for _ in range(num)]


def _train_by_hand(model, batches, alpha):
    """The reference's loop: loss + alpha * sum(p^2), torch SGD."""
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9,
                          weight_decay=5e-4)
    penalties = []
    for batch in batches:
        penalty = model.spe_a.p.square().sum() + model.spe_b.p.square().sum()
        loss = model(**batch, mode='loss')['loss'] + alpha * penalty
        penalties.append(alpha * penalty.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return penalties


def test_penalty_hook_equals_loss_plus_term(tmp_path):
    torch.manual_seed(0)
    model = _TinyNet()
    by_hand, without = copy.deepcopy(model), copy.deepcopy(model)
    batches = _batches()
    samples = [{k: v[i] for k, v in b.items()} for b in batches
               for i in range(2)]
    loader = torch.utils.data.DataLoader(samples, batch_size=2,
                                         shuffle=False)
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=loader,
        train_cfg=dict(by_epoch=False, max_iters=len(batches)),
        optim_wrapper=dict(optimizer=dict(
            type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4)),
        # the one config line:
        custom_hooks=[dict(type='mmattn.SPEPenaltyHook', alpha=ALPHA)],
        default_hooks=dict(checkpoint=None),
        log_level='WARNING')
    runner.train()

    penalties = _train_by_hand(by_hand, batches, ALPHA)
    _train_by_hand(without, batches, 0.0)
    for (name, trained), ref, plain in zip(
            model.named_parameters(), by_hand.parameters(),
            without.parameters()):
        torch.testing.assert_close(trained, ref, rtol=1e-6, atol=1e-6,
                                   msg=name)
    assert not torch.allclose(model.spe_a.p, without.spe_a.p, atol=1e-4)
    logged = runner.message_hub.get_scalar('train/loss_spe').current()
    assert logged == pytest.approx(penalties[-1], rel=1e-6)
    # the hook is gone after training
    assert set(model(**batches[0], mode='loss')) == {'loss'}


def test_penalty_hook_only_touches_training_loss():
    model = _TinyNet()
    hook = SPEPenaltyHook(alpha=0.25)
    hook.before_train(SimpleNamespace(model=model))
    batch = _batches(1)[0]
    losses = model(**batch, mode='loss')
    expected = 0.25 * (model.spe_a.p.square().sum() +
                       model.spe_b.p.square().sum())
    torch.testing.assert_close(losses['loss_spe'], expected)
    assert isinstance(model(**batch, mode='predict'), torch.Tensor)
    hook.after_train(SimpleNamespace(model=model))
    assert 'loss_spe' not in model(**batch, mode='loss')


def test_penalty_hook_errors():
    with pytest.raises(ValueError, match='alpha'):
        SPEPenaltyHook(alpha=-0.1)
    with pytest.raises(ValueError, match='loss_name'):
        SPEPenaltyHook(loss_name='spe')
    with pytest.raises(ValueError, match='no SelfAdaptivePoolingAttention'):
        SPEPenaltyHook().before_train(SimpleNamespace(model=nn.Conv2d(1, 1,
                                                                      1)))


# ---------------------------------------------------------------- ONNX


def test_onnx_export_dynamic_hw(tmp_path):
    pytest.importorskip('onnxscript')
    onnx = pytest.importorskip('onnx')
    ort = pytest.importorskip('onnxruntime')
    block = random_block(6).eval()
    path = tmp_path / 'spe.onnx'
    dims = {2: torch.export.Dim('h'), 3: torch.export.Dim('w')}
    torch.onnx.export(block, (torch.randn(2, 6, 7, 9), ), str(path),
                      dynamo=True, opset_version=17,
                      dynamic_shapes={'x': dims}, input_names=['x'])
    model = onnx.load(str(path))
    assert {o.version for o in model.opset_import if o.domain == ''} == {17}
    sess = ort.InferenceSession(str(path),
                                providers=['CPUExecutionProvider'])
    for shape in [(2, 6, 7, 9), (2, 6, 5, 12), (2, 6, 1, 1)]:
        x = torch.randn(*shape)
        (out, ) = sess.run(None, {'x': x.numpy()})
        torch.testing.assert_close(torch.from_numpy(out), block(x).detach(),
                                   rtol=1e-4, atol=1e-4)
