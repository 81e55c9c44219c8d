"""Two CPU processes on gloo through mmengine's own launcher path."""
import gc
import os
import os.path as osp
import socket
import subprocess
import sys
import time

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
from helpers import ROOT, config_path, read_scalars

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


# Bounds on every wait, so that a broken network fails the test instead of
# stalling the suite (gloo's own default is 30 minutes per collective).
DIST_TIMEOUT_S = 120
SPAWN_TIMEOUT_S = 300


def _worker(rank, world, port, batch_file, out_file):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port),
                      RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    from mmengine.config import Config

    from mmattn.engine import setup_cpu_distributed
    from mmattn.registry import MODEL_WRAPPERS
    cfg = Config(
        dict(env_cfg=dict(
            dist_cfg=dict(backend='nccl', timeout=DIST_TIMEOUT_S))))
    setup_cpu_distributed(cfg, 'pytorch')
    assert dist.get_backend() == 'gloo'
    assert os.environ['GLOO_SOCKET_IFNAME'] in ('lo', 'lo0')
    batch = torch.load(batch_file)
    model = _model()
    wrapper = MODEL_WRAPPERS.build(
        dict(cfg.model_wrapper_cfg, module=model, device_ids=[rank]))
    shard = batch.chunk(world)[rank]
    state = _step(model, shard, wrapper)
    if rank == 0:
        torch.save(state, out_file)
    # DDP's reducer must go before its process group: torn down in the
    # other order (when the frame is left), it sometimes waits forever on a
    # gloo thread (1 run in about 8 here).
    del wrapper
    gc.collect()
    dist.barrier()
    dist.destroy_process_group()


def test_sync_bn_step_equals_single_process_on_global_batch(tmp_path):
    torch.manual_seed(1)
    batch = torch.randn(4, 3, 6, 5)
    out_file = str(tmp_path / 'rank0.pth')
    batch_file = str(tmp_path / 'batch.pth')
    torch.save(batch, batch_file)  # a file, not shared memory: no fd passing
    context = mp.start_processes(
        _worker, args=(2, _free_port(), batch_file, out_file), nprocs=2,
        join=False, start_method='spawn')
    deadline = time.monotonic() + SPAWN_TIMEOUT_S
    while not context.join(timeout=5):
        if time.monotonic() > deadline:
            for proc in context.processes:
                proc.kill()
            pytest.fail(f'the two gloo processes did not finish within '
                        f'{SPAWN_TIMEOUT_S} s')
    distributed = torch.load(out_file)

    reference = _model()  # no process group: SyncBN acts as BatchNorm
    expected = _step(reference, batch)
    assert distributed.keys() == expected.keys()
    for key in expected:
        torch.testing.assert_close(distributed[key], expected[key],
                                   rtol=1e-5, atol=1e-6, msg=key)


def test_gloo_is_pinned_to_loopback_only_for_a_local_world(monkeypatch):
    from mmattn.engine import pin_gloo_to_loopback
    for key in ('GLOO_SOCKET_IFNAME', 'MASTER_ADDR', 'WORLD_SIZE',
                'LOCAL_WORLD_SIZE'):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv('MASTER_ADDR', '10.1.2.3')
    assert pin_gloo_to_loopback() is None  # other machines may take part
    assert 'GLOO_SOCKET_IFNAME' not in os.environ
    monkeypatch.setenv('WORLD_SIZE', '4')
    monkeypatch.setenv('LOCAL_WORLD_SIZE', '2')
    assert pin_gloo_to_loopback() is None
    monkeypatch.setenv('LOCAL_WORLD_SIZE', '4')  # torchrun, one node
    assert pin_gloo_to_loopback() in ('lo', 'lo0')
    monkeypatch.delenv('GLOO_SOCKET_IFNAME')
    monkeypatch.delenv('LOCAL_WORLD_SIZE')
    for host in ('127.0.0.1', 'localhost', '::1'):
        monkeypatch.setenv('MASTER_ADDR', host)
        assert pin_gloo_to_loopback() in ('lo', 'lo0')
        monkeypatch.delenv('GLOO_SOCKET_IFNAME')
    monkeypatch.setenv('GLOO_SOCKET_IFNAME', 'eth7')  # the user's choice
    assert pin_gloo_to_loopback() is None
    assert os.environ['GLOO_SOCKET_IFNAME'] == 'eth7'


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
    opts['env_cfg.dist_cfg.timeout'] = DIST_TIMEOUT_S
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
