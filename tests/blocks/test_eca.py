"""EfficientChannelAttention against its formula written out in plain
torch, and its kernel-size rule."""
import pytest
import torch
import torch.nn.functional as F

from mmattn.blocks import EfficientChannelAttention, eca_kernel_size
from helpers import (assert_deterministic, assert_gradients_match,
                      assert_input_shape_checked, assert_matches_reference,
                      config_path, export_opset17_and_check, randomise)

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
    assert_gradients_match(
        *BLOCKS[name], (3, 16, 6, 5), dict(rtol=1e-5, atol=1e-6),
        param_tol=dict(rtol=1e-5, atol=1e-5))


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
    assert_deterministic({'eca': BLOCKS['eca']}, shape=(2, 9, 7),
                         forbid=('Pool', ))


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
    # found by the fuzz test: 24 GB of kernel taps were allocated
    (EfficientChannelAttention, dict(in_channels=8, gamma=1e-9),
     r'gamma=1e-09 and beta=1 give a kernel size of 4e\+09 for 8 channels'),
])
def test_bad_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


def test_bad_input_shape():
    assert_input_shape_checked(BLOCKS['eca'][0](8), 8, 6, ndim=True)


@pytest.mark.filterwarnings('ignore')
def test_onnx_export_opset17_dynamic_hw(tmp_path):
    """The TorchScript exporter: the one that writes opset 17 as asked."""
    torch.manual_seed(0)
    block = randomise(BLOCKS['eca'][0](16)).eval()
    export_opset17_and_check(block, tmp_path / 'eca.onnx')


@pytest.mark.parametrize('config', [
    'plugins/faster-rcnn_r50-eca_fpn_1x_coco.py',
    'plugins/fcn_r50-d8-eca_4xb2-80k_cityscapes-512x1024.py'])
def test_r50_configs_take_the_authors_checkpoint_shapes(config):
    """The authors' ECA-Net50 (``--ksize 3557``) stores
    ``layer<s>.<b>.eca.conv.weight`` of shape (1, 1, k_s), k = 3, 5, 5, 7; the
    paper's rule would give 5, 5, 5, 7, and their weights would not load."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmattn.blocks import ECA_AUTHORS_KERNEL_SIZES
    cfg = Config.fromfile(config_path(config))
    scope = cfg.default_scope
    init_default_scope(scope)
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    cfg.model.backbone.init_cfg = None
    backbone = registry.build(cfg.model.backbone)
    sizes = ECA_AUTHORS_KERNEL_SIZES['resnet50']
    authors = {
        f'layer{s + 1}.{b}.eca.conv.weight': torch.randn(1, 1, k)
        for s, (k, blocks) in enumerate(zip(sizes, (3, 4, 6, 3)))
        for b in range(blocks)}
    missing, unexpected = backbone.load_state_dict(authors, strict=False)
    assert not unexpected
    assert not [k for k in missing if '.eca.' in k]
    assert [eca_kernel_size(c) for c in (256, 512, 1024, 2048)] == \
        [5, 5, 5, 7]  # the paper's rule, kept for new models
