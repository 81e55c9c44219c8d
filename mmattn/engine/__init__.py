"""Training glue for mmengine: registered hooks and wrappers, atomic and
safe checkpoints, CPU distributed training, importing mmpretrain without
torchvision. Importing it registers; :mod:`mmattn.runtime` is what changes
mmengine itself, on request."""
from .atomic_checkpoint import (ATOMIC_BACKEND, AtomicCheckpointHook,
                                AtomicLocalBackend, IncompleteCheckpointError,
                                atomic_write, find_resumable_checkpoint)
from .checkpoint import SAFE_GLOBALS, UnsafeCheckpointError
from .amp import CPUAutocastOptimWrapper
from .attention_visualization import AttentionVisualizationHook
from .finite_loss import FiniteLossHook
from .dist import (CPUDistributedDataParallel, finish_distributed,
                   pin_gloo_to_loopback, setup_cpu_distributed)
from .launch import add_common_args, load_config
from .spe_penalty import SPEPenaltyHook, spe_blocks, spe_penalty
from .sync_bn import CPUSyncBatchNorm, convert_to_cpu_sync_batchnorm
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
