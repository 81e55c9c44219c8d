"""Runtime glue for mmengine: safe checkpoints and CPU distributed training."""
from .checkpoint import (SAFE_GLOBALS, UnsafeCheckpointError,
                         install_checkpoint_safety)
from .amp import CPUAutocastOptimWrapper
from .attention_visualization import AttentionVisualizationHook
from .finite_loss import FiniteLossHook
from .dist import (CPUDistributedDataParallel, finish_distributed,
                   pin_gloo_to_loopback, setup_cpu_distributed)
from .launch import add_common_args, load_config
from .spe_penalty import SPEPenaltyHook, spe_blocks, spe_penalty
from .sync_bn import CPUSyncBatchNorm, convert_to_cpu_sync_batchnorm

__all__ = [
    'AttentionVisualizationHook', 'FiniteLossHook', 'SAFE_GLOBALS',
    'UnsafeCheckpointError', 'install_checkpoint_safety',
    'CPUDistributedDataParallel', 'finish_distributed',
    'pin_gloo_to_loopback', 'setup_cpu_distributed', 'CPUSyncBatchNorm',
    'convert_to_cpu_sync_batchnorm', 'CPUAutocastOptimWrapper',
    'add_common_args', 'load_config', 'SPEPenaltyHook', 'spe_blocks',
    'spe_penalty'
]
