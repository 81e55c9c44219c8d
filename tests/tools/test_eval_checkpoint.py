"""tools/test.py evaluates an mmseg checkpoint identically with mmseg's head
and with mmattn's drop-in.

For each head, a model is built from mmseg's stock Cityscapes config (shrunk
to a ResNet-18 without pretrained weights), given random weights where mmseg
starts at zero (attention scales, zero-initialised output convs; otherwise the
attention path would not count) and BN statistics of real activations, and
saved the way mmengine saves checkpoints. The checkpoint is then evaluated on
the synthetic Cityscapes fixture twice through ``tools/test.py``: with the
stock config (mmseg's head) and with mmattn's zoo config (mmattn's head), both
under the same ``--cfg-options``. Predictions must be identical.
"""
import os.path as osp
import pickle

import pytest
import torch
from helpers import ROOT
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import save_checkpoint, weights_to_cpu

import mmseg
from mmattn.testing import as_cli, reset_mmengine_singletons, seg_smoke_options

MMSEG_CONFIGS = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs')
SIZE = (64, 128)

#: our config -> (mmseg's config, parameters mmseg starts at zero that switch
#: the attention off, extra overrides for a ResNet-18)
CASES = {
    'danet/danet_r50-d8_4xb2-80k_cityscapes-512x1024.py':
    ('danet/danet_r50-d8_4xb2-80k_cityscapes-512x1024.py',
     ['decode_head.pam.gamma.scale', 'decode_head.cam.gamma.scale'], {}),
    'gcnet/gcnet_r50-d8_4xb2-80k_cityscapes-512x1024.py':
    ('gcnet/gcnet_r50-d8_4xb2-80k_cityscapes-512x1024.py',
     ['decode_head.gc_block.channel_add_conv.3.weight'], {}),
    # OCR's attention has no zero-initialised switch
    'ocrnet/ocrnet_r101-d8_8xb2-80k_cityscapes-512x1024.py':
    ('ocrnet/ocrnet_r101-d8_8xb2-80k_cityscapes-512x1024.py', [], {
        'model.backbone.depth': 18,
        'model.decode_head.0.in_channels': 256,
        'model.decode_head.0.channels': 32,
        'model.decode_head.1.in_channels': 512,
        'model.decode_head.1.channels': 64,
        'model.decode_head.1.ocr_channels': 32,
    }),
}


def _options(cityscapes_root, extra):
    opts = seg_smoke_options(cityscapes_root, size=SIZE,
                             light_backbone=not extra)
    opts.update(extra)
    return opts


def _build(config, opts):
    from mmseg.registry import MODELS
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(opts)
    init_default_scope('mmseg')
    return MODELS.build(cfg.model)


def _random_checkpoint(stock_config, opts, path):
    """Save an mmseg model with no zero-initialised parameter left (BN
    biases, attention scales, zero-initialised output convs: left at zero,
    the paths behind them would not be compared). Returns their names."""
    torch.manual_seed(0)
    model = _build(stock_config, opts)
    with torch.no_grad():
        zero = [n for n, p in model.named_parameters() if not p.any()]
        for name, p in model.named_parameters():
            if name in zero:
                p.uniform_(0.2, 0.5)
        # BN statistics of real activations, so that the features stay in
        # range through the random network (cumulative average, one batch)
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.momentum = None
                m.reset_running_stats()
        model.train()
        model.extract_feat(torch.randn(4, 3, *SIZE))
    save_checkpoint(
        dict(meta=dict(mmseg_version=mmseg.__version__, iter=0),
             state_dict=weights_to_cpu(model.state_dict())), path)
    return zero


def _evaluate(config, checkpoint, opts, work_dir):
    import test as test_tool
    reset_mmengine_singletons()  # as if in its own process
    out = osp.join(work_dir, 'results.pkl')
    metrics = test_tool.main([config, checkpoint, '--work-dir', work_dir,
                              '--out', out] + as_cli(opts))
    with open(out, 'rb') as f:  # written by this test's own run
        return metrics, pickle.load(f)


@pytest.mark.parametrize('ours', sorted(CASES))
def test_mmseg_checkpoint_evaluates_identically(ours, cityscapes_root,
                                                tmp_path):
    stock_rel, switches, extra = CASES[ours]
    stock = osp.join(MMSEG_CONFIGS, stock_rel)
    ours = osp.join(ROOT, 'configs', ours)
    opts = _options(cityscapes_root, extra)
    ckpt = str(tmp_path / 'stock.pth')
    zero_init = _random_checkpoint(stock, opts, ckpt)

    # what tools/test.py does not check: every key of the checkpoint fits
    # mmattn's model, none is missing (the runner loads non-strictly)
    from mmengine.runner.checkpoint import _load_checkpoint
    state = _load_checkpoint(ckpt)['state_dict']  # under the allow-list
    ours_model = _build(ours, opts)
    ours_model.load_state_dict(state, strict=True)
    head_modules = {type(m).__module__ for m in ours_model.modules()}
    assert any(m.startswith('mmattn.models.decode_heads') for m in
               head_modules)
    assert set(switches) <= set(zero_init)  # now switched on

    stock_metrics, stock_preds = _evaluate(stock, ckpt, opts,
                                           str(tmp_path / 'stock'))
    ours_metrics, ours_preds = _evaluate(ours, ckpt, opts,
                                         str(tmp_path / 'ours'))
    assert len(ours_preds) == len(stock_preds) == 2
    classes = set()
    for a, b in zip(stock_preds, ours_preds):
        assert a['img_path'] == b['img_path']
        torch.testing.assert_close(b['seg_logits']['data'],
                                   a['seg_logits']['data'], rtol=1e-4,
                                   atol=1e-4)
        assert torch.equal(b['pred_sem_seg']['data'],
                           a['pred_sem_seg']['data'])
        classes |= set(a['pred_sem_seg']['data'].unique().tolist())
    assert len(classes) > 1  # a constant map would match trivially
    assert ours_metrics == stock_metrics
