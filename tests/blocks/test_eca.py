"""EfficientChannelAttention against its formula written out in plain
torch, and its kernel-size rule."""
import pytest
import torch
import torch.nn.functional as F

from mmattn.blocks import EfficientChannelAttention, eca_kernel_size
from conftest import (assert_matches_reference, export_opset17_and_check,
                      graph_node_names, randomise)

SHAPES = [(2, 32, 7, 5), (1, 32, 1, 1), (1, 32, 3, 9), (3, 32, 16, 8)]


# ---------------------------------------------------------------- references
def reference_eca(block, x):
    """Gate of channel c = sum_j w[j] * y[c - p + j] over a zero-padded y."""
    k = block.kernel_size
    p = (k - 1) // 2
    y = F.pad(x.mean(dim=(2, 3)), (p, p))  # (N, C + 2p)
    w = block.conv.weight.view(k)
    y = y.unfold(1, k, 1) @ w  # windows (N, C, k) dotted with the kernel
    return x * torch.sigmoid(y)[:, :, None, None]


BLOCKS = {
    'eca': (lambda c: EfficientChannelAttention(c), reference_eca),
    'eca_k9': (lambda c: EfficientChannelAttention(c, kernel_size=9),
               reference_eca),
}


@pytest.mark.reference(blocks=[EfficientChannelAttention])
@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('name', list(BLOCKS))
def test_matches_formula(name, shape):
    assert_matches_reference(*BLOCKS[name], shape, rtol=1e-5,
                             atol=1e-6)


@pytest.mark.parametrize('name', list(BLOCKS))
def test_gradients_match_and_reach_every_parameter(name):
    torch.manual_seed(0)
    make, reference = BLOCKS[name]
    block = randomise(make(16)).train()  # CBAM's BN on batch statistics
    x = torch.randn(3, 16, 6, 5, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    block(x).square().sum().backward()
    grads = {n: p.grad.clone() for n, p in block.named_parameters()}
    block.zero_grad()
    reference(block, x2).square().sum().backward()
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-5, atol=1e-6)
    for n, p in block.named_parameters():
        # DDP without find_unused_parameters needs every one used
        assert grads[n].abs().sum() > 0, n
        # float32 sums in a different order (BN's batch statistics)
        torch.testing.assert_close(grads[n], p.grad, rtol=1e-5, atol=1e-5,
                                   msg=n)


def test_eca_kernel_size_table():
    table = {c: eca_kernel_size(c) for c in (64, 128, 256, 512, 1024, 2048)}
    assert table == {64: 3, 128: 5, 256: 5, 512: 5, 1024: 5, 2048: 7}
    # small C: the paper's rule gives 1 where timm clamps to 3
    assert [eca_kernel_size(c) for c in (1, 2, 4, 7, 8)] == [1, 1, 1, 1, 3]
    assert eca_kernel_size(64, gamma=1, beta=0) == 7
    for c, k in table.items():
        block = EfficientChannelAttention(c)
        assert block.kernel_size == k
        assert block.conv.weight.shape == (1, 1, k)
        assert block.conv.padding == ((k - 1) // 2, )
    assert EfficientChannelAttention(64, kernel_size=9).conv.weight.shape \
        == (1, 1, 9)


def test_eca_mixes_only_neighbouring_channels():
    block = EfficientChannelAttention(32, kernel_size=3)
    x = torch.randn(1, 32, 4, 4, requires_grad=True)
    block(x)[0, 10].sum().backward()
    touched = x.grad[0].abs().sum(dim=(1, 2)).nonzero().flatten().tolist()
    assert touched == [9, 10, 11]


def test_deterministic_mode():
    make, _ = BLOCKS['eca']
    torch.manual_seed(0)
    block = randomise(make(16)).train()
    x = torch.randn(2, 16, 9, 7)
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        grads = []
        for _ in range(2):
            block.zero_grad()
            xi = x.clone().requires_grad_(True)
            out = block(xi)
            names = graph_node_names(out)
            assert not [n for n in names if 'Pool' in n], names
            out.square().sum().backward()
            grads.append([xi.grad] + [p.grad.clone()
                                      for p in block.parameters()])
        for a, b in zip(*grads):
            assert torch.equal(a, b)
    finally:
        torch.use_deterministic_algorithms(previous)


@pytest.mark.parametrize('cls, kwargs, match', [
    (EfficientChannelAttention, dict(in_channels=-1), r'in_channels.*got -1'),
    (EfficientChannelAttention, dict(in_channels=8, kernel_size=4),
     r'kernel_size.*odd.*got 4'),
    (EfficientChannelAttention, dict(in_channels=8, kernel_size=0),
     r'kernel_size.*got 0'),
    (EfficientChannelAttention, dict(in_channels=8, kernel_size=-3),
     r'kernel_size.*got -3'),
    (EfficientChannelAttention, dict(in_channels=8, gamma=0), r'gamma.*got 0'),
    (EfficientChannelAttention, dict(in_channels=8, beta='1'), r'beta'),
])
def test_bad_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


def test_bad_input_shape():
    block = BLOCKS['eca'][0](8)
    with pytest.raises(ValueError, match=r'\(N, 8, H, W\).*\(1, 6, 4, 4\)'):
        block(torch.randn(1, 6, 4, 4))
    with pytest.raises(ValueError, match=r'\(N, 8, H, W\)'):
        block(torch.randn(8, 4, 4))


@pytest.mark.filterwarnings('ignore')
def test_onnx_export_opset17_dynamic_hw(tmp_path):
    """The TorchScript exporter: the one that writes opset 17 as asked."""
    torch.manual_seed(0)
    block = randomise(BLOCKS['eca'][0](16)).eval()
    export_opset17_and_check(block, tmp_path / 'eca.onnx')
