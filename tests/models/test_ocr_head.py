"""mmattn.OCRHead against mmseg 1.2.2's OCRHead: same keys, outputs and
gradients, alone and as the second stage of mmseg's shipped OCRNet."""
import copy
import os.path as osp

import mmseg
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.models.decode_heads import OCRHead as MMSegOCRHead
from mmseg.structures import SegDataSample

import mmattn  # noqa: F401
from mmattn.models.decode_heads import OCRHead
from helpers import randomise

OCRNET_CONFIG = osp.join(
    osp.dirname(mmseg.__file__), '.mim', 'configs', 'ocrnet',
    'ocrnet_r101-d8_4xb2-40k_cityscapes-512x1024.py')

HEAD = dict(in_channels=12, channels=8, ocr_channels=4, num_classes=5,
            norm_cfg=dict(type='BN'))


def _pair(seed=0, **kwargs):
    """mmseg's head with random weights and ours loaded from it strictly."""
    kwargs = {**HEAD, **kwargs}
    torch.manual_seed(seed)
    theirs = randomise(MMSegOCRHead(**kwargs))
    ours = OCRHead(**kwargs)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    return theirs, ours


def _run(head, inputs, prev, seed=0):
    """Output and gradients (parameters, features, previous logits); one
    seed for the dropout mask so train mode compares too."""
    inputs = [t.clone().requires_grad_() for t in inputs]
    prev = prev.clone().requires_grad_()
    torch.manual_seed(seed)
    out = head(inputs, prev)
    grads = torch.autograd.grad(out.square().sum(),
                                [*head.parameters(), *inputs, prev])
    return out, grads


def _assert_same(theirs, ours, inputs, prev):
    out_t, grads_t = _run(theirs, inputs, prev)
    out_o, grads_o = _run(ours, inputs, prev)
    torch.testing.assert_close(out_o, out_t, rtol=1e-4, atol=1e-4)
    assert len(grads_o) == len(grads_t)
    for a, b in zip(grads_o, grads_t):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('n, h, w', [(1, 5, 7), (2, 8, 8), (1, 9, 4),
                                     (2, 3, 10), (2, 1, 1)])
@pytest.mark.parametrize('train', [False, True])
def test_matches_mmseg_outputs_and_gradients(n, h, w, train):
    theirs, ours = _pair()
    theirs.train(train)
    ours.train(train)
    torch.manual_seed(1)
    _assert_same(theirs, ours, [torch.randn(n, 12, h, w)],
                 torch.randn(n, 5, h, w))


def test_matches_mmseg_with_resize_concat_inputs():
    """HRNet-OCR layout: four levels resized and concatenated."""
    kwargs = dict(in_channels=[2, 3, 4, 5], in_index=(0, 1, 2, 3),
                  input_transform='resize_concat')
    theirs, ours = _pair(**kwargs)
    theirs.eval()
    ours.eval()
    torch.manual_seed(1)
    inputs = [torch.randn(2, c, 9 // s + 1, 13 // s + 1)
              for c, s in zip([2, 3, 4, 5], [1, 2, 4, 8])]
    _assert_same(theirs, ours, inputs, torch.randn(2, 5, 10, 14))


@pytest.mark.parametrize('scale', [0.5, 0, -1])
def test_matches_mmseg_for_the_scales_mmseg_runs(scale):
    theirs, ours = _pair(scale=scale)
    theirs.eval()
    ours.eval()
    torch.manual_seed(1)
    _assert_same(theirs, ours, [torch.randn(2, 12, 6, 7)],
                 torch.randn(2, 5, 6, 7))


def test_scale_above_one_is_the_documented_multiplier():
    """mmseg's scale > 1 adds a query max-pool and then fails; ours keeps
    scale as the multiplier of the logits in the soft-region softmax."""
    theirs, ours = _pair(scale=2)
    x, prev = [torch.randn(2, 12, 6, 8)], torch.randn(2, 5, 6, 8)
    with pytest.raises((RuntimeError, ValueError)):
        theirs.eval()(x, prev)
    unit = OCRHead(**HEAD).eval()
    unit.load_state_dict(ours.state_dict(), strict=True)
    ours.eval()
    torch.testing.assert_close(ours(x, prev), unit(x, 2 * prev))


def test_same_keys_order_and_seeded_init_as_mmseg():
    """Parameters come in mmseg's order (optimizer state of an mmseg
    checkpoint resumes) and a seed gives the same initial weights."""
    torch.manual_seed(0)
    theirs = MMSegOCRHead(**HEAD)
    torch.manual_seed(0)
    ours = OCRHead(**HEAD)
    assert [k for k, _ in ours.named_parameters()] == \
        [k for k, _ in theirs.named_parameters()]
    theirs_state = theirs.state_dict()
    assert list(ours.state_dict()) == list(theirs_state)
    for key, value in ours.state_dict().items():
        assert torch.equal(value, theirs_state[key]), key


@pytest.mark.parametrize('dtype, tolerance',
                         [(torch.bfloat16, 0.1), (torch.float16, 0.02)])
def test_autocast_large_inputs_finite_and_close(dtype, tolerance):
    head = OCRHead(in_channels=16, channels=32, ocr_channels=16,
                   num_classes=5, norm_cfg=None)
    torch.manual_seed(0)
    randomise(head).eval()
    x = [100 * torch.randn(1, 16, 64, 64)]
    prev = 100 * torch.randn(1, 5, 64, 64)
    with torch.no_grad():
        expected = head(x, prev)
        with torch.autocast('cpu', dtype=dtype):
            out = head(x, prev)
    assert torch.isfinite(out).all()
    error = (out.float() - expected).norm() / expected.norm()
    assert error < tolerance, error


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match='ocr_channels'):
        OCRHead(**{**HEAD, 'ocr_channels': 0})
    with pytest.raises(ValueError, match='scale'):
        OCRHead(**HEAD, scale=float('nan'))
    head = OCRHead(**HEAD)
    with pytest.raises(ValueError, match='logits must have shape'):
        head([torch.randn(2, 12, 6, 7)], torch.randn(2, 5, 7, 6))


def test_scoped_name_builds_ours_and_plain_name_mmseg():
    init_default_scope('mmseg')
    from mmseg.registry import MODELS
    assert type(MODELS.build(dict(type='mmattn.OCRHead', **HEAD))) is OCRHead
    assert type(MODELS.build(dict(type='OCRHead', **HEAD))) is MMSegOCRHead


# ------------------------------------------------------------ whole OCRNet
def _small_ocrnet_cfg():
    """mmseg's shipped OCRNet (R101-D8, FCN then OCR) shrunk: ResNetV1c-18
    with 8 base channels, BN, no pretrained weights, thin heads."""
    model = copy.deepcopy(Config.fromfile(OCRNET_CONFIG).model)
    bn = dict(type='BN', requires_grad=True)
    model.pretrained = None
    model.data_preprocessor.size = None
    model.backbone.update(depth=18, stem_channels=8, base_channels=8,
                          norm_cfg=bn)
    fcn, ocr = model.decode_head
    assert (fcn.type, ocr.type) == ('FCNHead', 'OCRHead')
    fcn.update(in_channels=32, channels=8, norm_cfg=bn)
    ocr.update(in_channels=64, channels=16, ocr_channels=8, norm_cfg=bn)
    return model


def test_ocrnet_from_shipped_config_loads_stock_weights_and_agrees():
    init_default_scope('mmseg')
    from mmseg.registry import MODELS
    cfg = _small_ocrnet_cfg()
    torch.manual_seed(0)
    stock = MODELS.build(cfg)
    randomise(stock.decode_head)
    cfg.decode_head[1].type = 'mmattn.OCRHead'
    ours = MODELS.build(cfg)
    assert type(ours.decode_head[1]) is OCRHead
    ours.load_state_dict(stock.state_dict(), strict=True)

    # Inference: identical predictions at an odd, non-square size.
    stock.eval()
    ours.eval()
    torch.manual_seed(1)
    images = torch.randn(2, 3, 37, 50)
    with torch.no_grad():
        expected = stock.predict(images)
        results = ours.predict(images)
    for mine, theirs in zip(results, expected):
        torch.testing.assert_close(mine.seg_logits.data,
                                   theirs.seg_logits.data,
                                   rtol=1e-4, atol=1e-4)
        assert torch.equal(mine.pred_sem_seg.data, theirs.pred_sem_seg.data)

    # Training: same losses (dropout under one seed) and gradients.
    def losses_and_grads(model):
        model.train()
        samples = []
        for i in range(2):
            labels = torch.randint(0, 19, (1, 37, 50),
                                   generator=torch.Generator().manual_seed(i))
            samples.append(SegDataSample(gt_sem_seg=PixelData(data=labels)))
        torch.manual_seed(2)
        losses = model.loss(images, samples)
        total = sum(v for k, v in losses.items() if 'loss' in k)
        return losses, torch.autograd.grad(total, list(model.parameters()))

    losses_o, grads_o = losses_and_grads(ours)
    losses_t, grads_t = losses_and_grads(stock)
    assert set(losses_o) == set(losses_t)
    for key in losses_t:
        torch.testing.assert_close(losses_o[key], losses_t[key],
                                   rtol=1e-5, atol=1e-5)
    for a, b in zip(grads_o, grads_t):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
