"""torch.compile of whole mmattn models in training: mmengine's ``compile``
switch (``compile=True`` in the config or ``--cfg-options``) on a config
with an mmattn head (SPANet, its custom op included) and one with plugins
(SE through BackboneWithBlocks). One iteration each (mmengine compiles
``train_step``, and a second iteration would recompile for the new learning
rate: minutes on two cores); the compiled loss must equal the eager one.
"""
import os.path as osp
import sys

import pytest
from conftest import ROOT, config_path, read_scalars

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
@pytest.mark.parametrize('name', ['spanet', 'se'])
def test_compiled_training_step_matches_eager(name, cityscapes_root,
                                              tmp_path):
    config = config_path('long_range',
                         f'{name}_r18-tiny_long-range-96x256.py')
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
