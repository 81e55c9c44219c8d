"""Two CPU processes on gloo through mmengine's own launcher path."""
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
from conftest import ROOT, config_path, read_scalars

from mmattn.testing import as_cli, seg_smoke_options


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _model():
    from mmcv.cnn import build_norm_layer
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.SyncBatchNorm(4), nn.ReLU(),
        nn.Conv2d(4, 2, 1),
        build_norm_layer(dict(type='SyncBN'), 2)[1])  # what configs build


def _step(model, x, wrapper=None):
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    net = wrapper or model
    loss = (net(x)**2).mean() + net(x).mean()
    loss.backward()
    opt.step()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _worker(rank, world, port, batch, out_file):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port),
                      RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    from mmengine.config import Config

    from mmattn.engine import setup_cpu_distributed
    from mmattn.registry import MODEL_WRAPPERS
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    setup_cpu_distributed(cfg, 'pytorch')
    assert dist.get_backend() == 'gloo'
    model = _model()
    wrapper = MODEL_WRAPPERS.build(
        dict(cfg.model_wrapper_cfg, module=model, device_ids=[rank]))
    shard = batch.chunk(world)[rank]
    state = _step(model, shard, wrapper)
    if rank == 0:
        torch.save(state, out_file)
    dist.destroy_process_group()


def test_sync_bn_step_equals_single_process_on_global_batch(tmp_path):
    torch.manual_seed(1)
    batch = torch.randn(4, 3, 6, 5)
    out_file = str(tmp_path / 'rank0.pth')
    mp.spawn(_worker, args=(2, _free_port(), batch, out_file), nprocs=2)
    distributed = torch.load(out_file)

    reference = _model()  # no process group: SyncBN acts as BatchNorm
    expected = _step(reference, batch)
    assert distributed.keys() == expected.keys()
    for key in expected:
        torch.testing.assert_close(distributed[key], expected[key],
                                   rtol=1e-5, atol=1e-6, msg=key)


def test_setup_is_a_no_op_without_launcher():
    from mmengine.config import Config

    from mmattn.engine import setup_cpu_distributed
    cfg = Config(dict())
    assert setup_cpu_distributed(cfg, 'none') is False
    assert 'model_wrapper_cfg' not in cfg
    with pytest.raises(ValueError, match='launcher'):
        setup_cpu_distributed(cfg, 'mpi')


def test_torchrun_two_processes_train_two_iterations(cityscapes_root,
                                                     tmp_path):
    work_dir = str(tmp_path / 'dist')
    opts = seg_smoke_options(cityscapes_root, size=(64, 128), iters=2,
                             batch_size=1)
    opts['train_cfg.val_interval'] = 100
    cmd = [
        sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
        f'--master_port={_free_port()}',
        osp.join(ROOT, 'tools', 'train.py'),
        config_path('spanet_r50_cityscapes.py'), '--launcher', 'pytorch',
        '--work-dir', work_dir
    ] + as_cli(opts)
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    iters = [r['iter'] for r in read_scalars(work_dir) if 'loss' in r]
    assert iters == [1, 2]
    log = proc.stdout + proc.stderr
    assert 'Distributed training: True' in log
    assert 'GPU number: 2' in log  # mmengine's name for the world size
