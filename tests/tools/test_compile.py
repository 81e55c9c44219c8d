"""torch.compile of a whole mmattn model in training: mmengine's
``compile`` switch (``compile=True`` in the config or ``--cfg-options``) on
one model with an mmattn head (SPANet, its custom op included) and blocks
inserted into its backbone (SE through BackboneWithBlocks): the long-range
SPANet config with the SE config's backbone. One compile for both (a
cold compile costs 40-50 s on two cores). One iteration (mmengine compiles
``train_step``, and a second iteration would recompile for the new learning
rate: minutes on two cores); the compiled loss must equal the eager one.
"""
import os.path as osp
import sys

import pytest
from helpers import ROOT, long_range_config, read_scalars

from mmattn.testing import (as_cli, long_range_smoke_options,
                            reset_mmengine_singletons)

sys.path.insert(0, osp.join(ROOT, 'tools'))


def _first_loss(config, data_root, work_dir, compile_model):
    import train
    reset_mmengine_singletons()  # two runners in one process
    opts = long_range_smoke_options(data_root)
    opts['randomness.seed'] = 0
    if compile_model:
        opts['compile'] = True
    train.main([config, '--work-dir', str(work_dir)] + as_cli(opts))
    (record, ) = [r for r in read_scalars(str(work_dir)) if 'loss' in r]
    return record['loss']


@pytest.mark.filterwarnings('ignore')
def test_compiled_training_step_matches_eager(cityscapes_root, tmp_path):
    from mmengine.config import Config
    cfg = Config.fromfile(
        long_range_config('seg', 'spanet_r18-tiny_long-range-96x256.py'))
    cfg.model.backbone = Config.fromfile(long_range_config(
        'seg', 'se_r18-tiny_long-range-96x256.py')).model.backbone
    assert cfg.model.backbone.type == 'mmattn.BackboneWithBlocks'
    assert cfg.model.decode_head.type == 'mmattn.SPAHead'
    config = str(tmp_path / 'spanet_se.py')
    cfg.dump(config)
    import torch._dynamo
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    eager = _first_loss(config, cityscapes_root, tmp_path / 'eager', False)
    assert torch._dynamo.utils.counters['stats']['unique_graphs'] == 0
    compiled = _first_loss(config, cityscapes_root, tmp_path / 'compiled',
                           True)
    # the training step went through dynamo (graphs were captured)
    assert torch._dynamo.utils.counters['stats']['unique_graphs'] > 0
    # inductor fuses and reorders float32 sums: 1.8e-4 measured for SPANet
    assert compiled == pytest.approx(eager, rel=1e-3)
