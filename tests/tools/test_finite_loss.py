"""mmattn.FiniteLossHook: a NaN or infinite loss stops training with an error
naming the iteration and the loss term, and no checkpoint of the diverged
weights is written (tools/train.py adds the hook to every config)."""
import glob
import math
import os.path as osp
import sys

import pytest
import torch
from helpers import ROOT, long_range_config

from mmattn.engine import FiniteLossHook
from mmattn.testing import as_cli, long_range_smoke_options

sys.path.insert(0, osp.join(ROOT, 'tools'))


class _Runner:
    iter = 41
    work_dir = 'work_dirs/x'


@pytest.mark.parametrize('value', [math.nan, math.inf, -math.inf])
def test_hook_names_the_iteration_and_the_term(value):
    outputs = dict(loss=torch.tensor(value),
                   **{'decode.loss_ce': torch.tensor(value),
                      'decode.acc_seg': torch.tensor(12.5)})
    with pytest.raises(FloatingPointError,
                       match=r'iteration 42: non-finite loss \(loss = '
                       rf'{value}, decode.loss_ce = {value}\)'):
        FiniteLossHook().after_train_iter(_Runner(), 0, outputs=outputs)


def test_hook_passes_finite_losses_and_other_outputs():
    outputs = dict(loss=torch.tensor(0.5), count=3, name='x',
                   map=torch.full((2, 2), math.nan))  # not a scalar term
    FiniteLossHook().after_train_iter(_Runner(), 0, outputs=outputs)
    FiniteLossHook().after_train_iter(_Runner(), 0, outputs=None)


def test_train_adds_the_hook_once():
    from mmengine.config import Config
    import train
    cfg = Config(dict(custom_hooks=[dict(type='mmattn.SPEPenaltyHook')]))
    train.add_finite_loss_hook(cfg)
    train.add_finite_loss_hook(cfg)
    assert [h['type'] for h in cfg.custom_hooks] == [
        'mmattn.SPEPenaltyHook', 'mmattn.FiniteLossHook']


@pytest.mark.filterwarnings('ignore')
def test_diverging_run_stops_and_keeps_the_last_good_checkpoint(
        cityscapes_root, tmp_path):
    """A learning rate of 1e12 makes the loss infinite or NaN within a few
    iterations; a checkpoint is written every iteration until then."""
    import train
    opts = long_range_smoke_options(cityscapes_root, iters=6)
    opts.update({'optim_wrapper.optimizer.lr': 1e12,
                 'param_scheduler': None,
                 'default_hooks.checkpoint.interval': 1})
    with pytest.raises(FloatingPointError) as error:
        train.main([long_range_config('seg',
                                      'fcn_r18-tiny_long-range-96x256.py'),
                    '--work-dir', str(tmp_path)] + as_cli(opts))
    message = str(error.value)
    stopped = int(message.split('iteration ')[1].split(':')[0])
    assert 1 < stopped <= 6 and 'non-finite loss (loss = ' in message
    saved = sorted(int(osp.basename(p)[5:-4])
                   for p in glob.glob(str(tmp_path / 'iter_*.pth')))
    assert saved == list(range(1, stopped))  # none of the diverged one
    state = torch.load(tmp_path / f'iter_{stopped - 1}.pth',
                       map_location='cpu', weights_only=False)['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values()
               if v.is_floating_point())
