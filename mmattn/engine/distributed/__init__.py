"""Distributed training where CUDA is not: gloo process groups, DDP without
device ids, SyncBN over gloo."""
from .cpu_ddp import (CPUDistributedDataParallel, finish_distributed,
                      pin_gloo_to_loopback, setup_cpu_distributed)
from .sync_bn import CPUSyncBatchNorm, convert_to_cpu_sync_batchnorm

__all__ = [
    'CPUDistributedDataParallel', 'finish_distributed',
    'pin_gloo_to_loopback', 'setup_cpu_distributed', 'CPUSyncBatchNorm',
    'convert_to_cpu_sync_batchnorm'
]
