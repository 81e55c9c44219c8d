"""Distributed training on CPU through mmengine's own launchers.

mmengine 0.10.7 assumes a GPU in two places: ``init_dist`` calls
``torch.cuda.set_device`` for the pytorch and slurm launchers, and the runner
wraps the model in DDP with ``device_ids=[local_rank]``, which DDP refuses for
CPU modules. On a machine without CUDA, :func:`setup_cpu_distributed` starts
the process group itself with gloo (the runner then skips ``init_dist``) and
points ``model_wrapper_cfg`` at :class:`CPUDistributedDataParallel`. With CUDA
available it changes nothing.
"""
import datetime
import ipaddress
import os
import socket
import subprocess

import torch
import torch.distributed as dist
from mmengine.model import MMDistributedDataParallel

from ...registry import MODEL_WRAPPERS
from .sync_bn import convert_to_cpu_sync_batchnorm


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for CPU processes (gloo backend).

    Drops ``device_ids`` (DDP takes none for CPU modules) and makes SyncBN
    layers synchronise over the CPU process group.
    """

    def __init__(self, module, device_ids=None, **kwargs):
        convert_to_cpu_sync_batchnorm(module)
        super().__init__(module=module, device_ids=None, **kwargs)


def _slurm_env(port=None):
    """Translate SLURM's variables into torch.distributed's (as mmengine)."""
    node_list = os.environ['SLURM_NODELIST']
    os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID', '0'))
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    if port is not None:
        os.environ['MASTER_PORT'] = str(port)
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        os.environ['MASTER_ADDR'] = subprocess.getoutput(
            f'scontrol show hostname {node_list} | head -n1')


def _is_loopback(host):
    if host in ('localhost', 'localhost.localdomain'):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def pin_gloo_to_loopback():
    """Make gloo use the loopback interface when the whole world is local.

    gloo picks its network interface by resolving the host name. Where that
    name resolves to an address other processes cannot reach (containers,
    sandboxes, mDNS names), the processes of a one-machine run wait for each
    other until the process-group timeout (30 min by default). When the
    rendezvous address is a loopback address, or every rank runs on this
    machine (``LOCAL_WORLD_SIZE == WORLD_SIZE``, set by torchrun), loopback
    carries everything, so it is chosen explicitly. A ``GLOO_SOCKET_IFNAME``
    the user set is left alone.

    Returns:
        str | None: the interface set, or None when nothing was changed.
    """
    if os.environ.get('GLOO_SOCKET_IFNAME'):
        return None
    world = os.environ.get('WORLD_SIZE')
    local = (_is_loopback(os.environ.get('MASTER_ADDR', ''))
             or (world is not None
                 and os.environ.get('LOCAL_WORLD_SIZE') == world))
    if not local:
        return None
    names = {name for _, name in socket.if_nameindex()}
    loopback = next((n for n in ('lo', 'lo0') if n in names), None)
    if loopback is not None:
        os.environ['GLOO_SOCKET_IFNAME'] = loopback
    return loopback


def setup_cpu_distributed(cfg, launcher):
    """Prepare ``cfg`` and the process group for CPU-only distributed runs.

    Args:
        cfg (mmengine.Config): the run's config; ``env_cfg.dist_cfg`` and
            ``model_wrapper_cfg`` are adjusted in place. ``dist_cfg.timeout``
            (seconds) bounds every collective, as in mmengine.
        launcher (str): ``'none'``, ``'pytorch'`` or ``'slurm'``.

    Returns:
        bool: True when a CPU process group was set up.
    """
    if launcher not in ('none', 'pytorch', 'slurm'):
        raise ValueError(
            f"launcher must be 'none', 'pytorch' or 'slurm', got {launcher!r}")
    if launcher == 'none' or torch.cuda.is_available():
        return False
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    backend = dist_cfg.get('backend', 'gloo')
    if backend == 'nccl':  # the OpenMMLab default, GPU-only
        backend = 'gloo'
    dist_cfg['backend'] = backend
    if launcher == 'slurm':
        _slurm_env(dist_cfg.get('port'))
    if not dist.is_initialized():
        pin_gloo_to_loopback()
        kwargs = {}
        if dist_cfg.get('timeout') is not None:  # seconds, as mmengine
            kwargs['timeout'] = datetime.timedelta(
                seconds=float(dist_cfg['timeout']))
        dist.init_process_group(backend=backend, **kwargs)
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    if wrapper.get('type', 'MMDistributedDataParallel') in (
            'MMDistributedDataParallel', MMDistributedDataParallel):
        wrapper['type'] = 'mmattn.CPUDistributedDataParallel'
    cfg.model_wrapper_cfg = wrapper
    return True


def finish_distributed(runner):
    """End a distributed run in order: drop the runner's wrapped model (and
    with it DDP's reducer), let every rank arrive, then destroy the process
    group. Left to interpreter exit, the reducer and gloo's threads are torn
    down after the group and a rank can abort ('terminate called without an
    active exception') after a run that finished. Does nothing outside a
    distributed run."""
    if not (dist.is_available() and dist.is_initialized()):
        return
    import gc
    runner.model = None
    gc.collect()
    dist.barrier()
    dist.destroy_process_group()
