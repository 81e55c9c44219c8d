"""mmattn.DAHead against mmseg 1.2.2's DAHead: state dict loaded strictly,
same logits, gradients, predictions and losses."""
import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.models.decode_heads import DAHead as MMSegDAHead
from mmseg.structures import SegDataSample

import mmattn  # noqa: F401  (registers the mmattn.* names)
from mmattn.blocks import ChannelAttention, PositionAttention
from mmattn.models.decode_heads import DAHead
from helpers import randomise

NUM_CLASSES = 3
KWARGS = dict(in_channels=16, in_index=1, channels=8, pam_channels=2,
              num_classes=NUM_CLASSES, norm_cfg=dict(type='BN'),
              dropout_ratio=0.1, align_corners=False)


def _inputs(n, h, w):
    return [torch.randn(n, 4, 2 * h, 2 * w), torch.randn(n, 16, h, w)]


def _pair(**kwargs):
    """mmseg's head with random weights, non-zero gammas, and ours loaded
    from its state dict (strict)."""
    kwargs = {**KWARGS, **kwargs}
    ref = randomise(MMSegDAHead(**kwargs))
    with torch.no_grad():
        ref.pam.gamma.scale.fill_(0.6)
        ref.cam.gamma.scale.fill_(-0.4)
    ours = DAHead(**kwargs)
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ref, ours


def _seeded(head, inputs, seed=0):
    """Forward with the dropout masks fixed by the seed."""
    torch.manual_seed(seed)
    return head(inputs)


def test_blocks_replace_mmseg_modules_under_the_same_names():
    ref, ours = _pair()
    assert isinstance(ours.pam, PositionAttention)
    assert isinstance(ours.cam, ChannelAttention)
    assert ours.pam.channels == 2 and ours.pam.in_channels == 8
    assert ours.cam.form == 'danet'
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert DAHead(cam_form='paper', **KWARGS).cam.form == 'paper'


@pytest.mark.parametrize('n, h, w', [(2, 7, 9), (1, 1, 5), (1, 16, 16)])
def test_training_forward_and_gradients_match_mmseg(n, h, w):
    """Training mode: batch-statistics BN and dropout (same masks)."""
    torch.manual_seed(n + h + w)
    ref, ours = _pair()
    ref.train(), ours.train()
    inputs = _inputs(n, h, w)
    outs_ref, outs = _seeded(ref, inputs), _seeded(ours, inputs)
    assert isinstance(outs, tuple) and len(outs) == 3
    upstream = [torch.randn_like(o) for o in outs_ref]
    for out, out_ref in zip(outs, outs_ref):
        assert out.shape == (n, NUM_CLASSES, h, w)
        torch.testing.assert_close(out, out_ref, rtol=1e-4, atol=1e-4)
    torch.autograd.backward(outs_ref, upstream)
    torch.autograd.backward(outs, upstream)
    params_ref = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        assert p.grad is not None, name
        torch.testing.assert_close(p.grad, params_ref[name].grad, rtol=1e-4,
                                   atol=1e-4, msg=name)


def test_predict_matches_mmseg():
    torch.manual_seed(0)
    ref, ours = _pair()
    ref.eval(), ours.eval()
    inputs = _inputs(2, 6, 10)
    metas = [dict(img_shape=(24, 40), pad_shape=(24, 40))] * 2
    with torch.no_grad():
        pred_ref = ref.predict(inputs, metas, test_cfg=dict(mode='whole'))
        pred = ours.predict(inputs, metas, test_cfg=dict(mode='whole'))
    assert pred.shape == (2, NUM_CLASSES, 24, 40)
    torch.testing.assert_close(pred, pred_ref, rtol=1e-4, atol=1e-4)


def test_loss_matches_mmseg():
    torch.manual_seed(0)
    ref, ours = _pair()
    inputs = _inputs(2, 5, 7)
    samples = []
    for _ in range(2):
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, NUM_CLASSES, (1, 20, 28)))
        sample.set_metainfo(dict(img_shape=(20, 28), pad_shape=(20, 28)))
        samples.append(sample)
    torch.manual_seed(1)
    losses_ref = ref.loss(inputs, samples, train_cfg=dict())
    torch.manual_seed(1)
    losses = ours.loss(inputs, samples, train_cfg=dict())
    assert set(losses) == set(losses_ref)
    assert {'pam_cam.loss_ce', 'pam.loss_ce', 'cam.loss_ce'} <= set(losses)
    for name in losses:
        torch.testing.assert_close(losses[name], losses_ref[name],
                                   rtol=1e-4, atol=1e-4, msg=name)


def test_built_by_scoped_name_without_shadowing_mmseg():
    init_default_scope('mmseg')
    from mmseg.registry import MODELS
    cfg = dict(KWARGS, type='mmattn.DAHead')
    assert type(MODELS.build(cfg)) is DAHead
    # the unprefixed name is still mmseg's own head
    assert type(MODELS.build(dict(KWARGS, type='DAHead'))) is MMSegDAHead


@pytest.mark.parametrize('name, cls, abbr', [
    ('PositionAttention', PositionAttention, 'pam'),
    ('ChannelAttention', ChannelAttention, 'cam')])
def test_blocks_are_plugin_layers(name, cls, abbr):
    from mmcv.cnn import build_plugin_layer
    init_default_scope('mmseg')
    layer_name, layer = build_plugin_layer(dict(type=f'mmattn.{name}'),
                                           in_channels=16)
    assert layer_name == abbr and type(layer) is cls
    x = torch.randn(1, 16, 5, 6)
    assert torch.equal(layer(x), x)  # gamma starts at 0


def test_one_seed_gives_mmsegs_initial_weights():
    """Built module by module in mmseg's order: the same seed gives the same
    weights as mmseg's DAHead (building mmseg's PAM first and replacing it
    drew different ones), and leaves the RNG where mmseg's leaves it."""
    from mmseg.models.decode_heads.da_head import DAHead as MMSegDAHead
    kwargs = dict(in_channels=8, channels=16, num_classes=3, pam_channels=4)
    torch.manual_seed(0)
    theirs = MMSegDAHead(**kwargs).state_dict()
    after_theirs = torch.randn(3)
    torch.manual_seed(0)
    ours = DAHead(**kwargs).state_dict()
    assert list(ours) == list(theirs)
    for key, value in theirs.items():
        assert torch.equal(ours[key], value), key
    assert torch.equal(torch.randn(3), after_theirs)
