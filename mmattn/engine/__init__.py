"""Training glue for mmengine, by reason to change: ``checkpoint/`` (atomic
writes, resume, weights-only loading), ``hooks/`` (registered hooks),
``distributed/`` (CPU distributed training), ``optim/`` (CPU autocast wrapper),
``launch.py`` (what the tools share), ``torchvision_standin.py`` (importing
mmpretrain without torchvision). Importing it registers;
:mod:`mmattn.runtime` is what changes mmengine itself, on request."""
from .checkpoint import (ATOMIC_BACKEND, SAFE_GLOBALS, AtomicLocalBackend,
                         IncompleteCheckpointError, UnsafeCheckpointError,
                         atomic_write, find_resumable_checkpoint)
from .distributed import (CPUDistributedDataParallel, CPUSyncBatchNorm,
                   convert_to_cpu_sync_batchnorm, finish_distributed,
                   pin_gloo_to_loopback, setup_cpu_distributed)
from .hooks import (AtomicCheckpointHook, AttentionVisualizationHook,
                    FiniteLossHook, SPEPenaltyHook, spe_blocks, spe_penalty)
from .launch import add_common_args, load_config
from .optim import CPUAutocastOptimWrapper
from .torchvision_standin import (TorchvisionMissing, import_mmpretrain,
                                  torchvision_standin)

__all__ = [
    'ATOMIC_BACKEND', 'AtomicCheckpointHook', 'AtomicLocalBackend',
    'AttentionVisualizationHook', 'IncompleteCheckpointError', 'atomic_write',
    'find_resumable_checkpoint', 'FiniteLossHook', 'SAFE_GLOBALS',
    'UnsafeCheckpointError', 'CPUDistributedDataParallel',
    'finish_distributed', 'pin_gloo_to_loopback', 'setup_cpu_distributed',
    'CPUSyncBatchNorm', 'convert_to_cpu_sync_batchnorm',
    'CPUAutocastOptimWrapper', 'add_common_args', 'load_config',
    'SPEPenaltyHook', 'spe_blocks', 'spe_penalty', 'TorchvisionMissing',
    'import_mmpretrain', 'torchvision_standin'
]
