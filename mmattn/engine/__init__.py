"""Runtime glue for mmengine: safe and atomic checkpoints, CPU distributed
training, hooks, importing mmpretrain without torchvision."""
from .atomic_checkpoint import (IncompleteCheckpointError, atomic_write,
                                find_resumable_checkpoint,
                                install_atomic_checkpoints)
from .checkpoint import (SAFE_GLOBALS, UnsafeCheckpointError,
                         install_checkpoint_safety)
from .amp import CPUAutocastOptimWrapper
from .attention_visualization import AttentionVisualizationHook
from .data_checks import (BadDataError, bad_data_policy, install_data_checks,
                          set_bad_data_policy)
from .finite_loss import FiniteLossHook
from .dist import (CPUDistributedDataParallel, finish_distributed,
                   pin_gloo_to_loopback, setup_cpu_distributed)
from .launch import add_common_args, load_config
from .spe_penalty import SPEPenaltyHook, spe_blocks, spe_penalty
from .sync_bn import CPUSyncBatchNorm, convert_to_cpu_sync_batchnorm
from .torchvision_standin import (TorchvisionMissing, import_mmpretrain,
                                  torchvision_standin)

__all__ = [
    'AttentionVisualizationHook', 'IncompleteCheckpointError', 'atomic_write',
    'find_resumable_checkpoint', 'install_atomic_checkpoints',
    'FiniteLossHook', 'SAFE_GLOBALS', 'BadDataError', 'bad_data_policy',
    'install_data_checks', 'set_bad_data_policy',
    'UnsafeCheckpointError', 'install_checkpoint_safety',
    'CPUDistributedDataParallel', 'finish_distributed',
    'pin_gloo_to_loopback', 'setup_cpu_distributed', 'CPUSyncBatchNorm',
    'convert_to_cpu_sync_batchnorm', 'CPUAutocastOptimWrapper',
    'add_common_args', 'load_config', 'SPEPenaltyHook', 'spe_blocks',
    'spe_penalty', 'TorchvisionMissing', 'import_mmpretrain',
    'torchvision_standin'
]
