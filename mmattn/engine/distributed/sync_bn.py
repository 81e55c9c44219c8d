"""Synchronised batch normalisation that also works on CPU process groups.

``torch.nn.SyncBatchNorm`` refuses CPU tensors as soon as a process group exists
(its kernels are CUDA-only), and DDP refuses CPU modules holding any
``SyncBatchNorm`` instance, so a SyncBN config cannot train under gloo. This
layer has the parameters, buffers and state-dict keys of ``nn.SyncBatchNorm``
(it is a batch norm, not a subclass of SyncBatchNorm) and, for CPU inputs in a
group of several processes, computes the batch statistics with an
autograd-aware all-reduce. The backward of
``torch.distributed.nn.functional.all_reduce`` is itself an all-reduce, which is
exactly the cross-process term of the batch-norm gradient, so no hand-written
backward is needed. Without a process group (or in eval mode) it is a plain
batch norm.
"""
import torch
import torch.distributed as dist
import torch.nn as nn
from torch.distributed.nn.functional import all_reduce
from torch.nn.modules.batchnorm import _BatchNorm


class CPUSyncBatchNorm(_BatchNorm):
    """Synchronised batch norm for CPU process groups (gloo).

    Args: those of ``nn.SyncBatchNorm`` (``num_features``, ``eps``,
    ``momentum``, ``affine``, ``track_running_stats``, ``process_group``).

    Shapes: input ``(N, C, *)``, output the same.
    """

    def __init__(self, *args, process_group=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.process_group = process_group

    def _check_input_dim(self, x):
        if x.dim() < 2:
            raise ValueError(
                f'expected at least 2D input (N, C, *), got {x.dim()}D input')

    def _needs_cpu_sync(self, x):
        return (x.device.type == 'cpu' and self.training
                and dist.is_available() and dist.is_initialized()
                and dist.get_world_size(self.process_group
                                        or dist.group.WORLD) > 1)

    def forward(self, x):
        if not self._needs_cpu_sync(x):
            return super().forward(x)
        self._check_input_dim(x)
        group = self.process_group or dist.group.WORLD
        dims = [0] + list(range(2, x.dim()))
        # float64 sums: E[x^2] - E[x]^2 cancels badly in float32 at large counts.
        xd = x.double()
        count = torch.full((1, ), x.numel() // x.size(1), dtype=torch.float64)
        stats = torch.cat([xd.sum(dims), (xd * xd).sum(dims), count])
        stats = all_reduce(stats, group=group)
        channels = x.size(1)
        total = stats[-1]
        mean = stats[:channels] / total
        var = stats[channels:2 * channels] / total - mean * mean
        if self.track_running_stats:
            with torch.no_grad():
                momentum = self.momentum
                if momentum is None:  # cumulative moving average
                    self.num_batches_tracked += 1
                    momentum = 1.0 / float(self.num_batches_tracked)
                else:
                    self.num_batches_tracked += 1
                unbiased = var * total / (total - 1).clamp(min=1)
                self.running_mean.mul_(1 - momentum).add_(
                    momentum * mean.to(self.running_mean.dtype))
                self.running_var.mul_(1 - momentum).add_(
                    momentum * unbiased.to(self.running_var.dtype))
        shape = [1, channels] + [1] * (x.dim() - 2)
        inv_std = torch.rsqrt(var + self.eps).to(x.dtype).view(shape)
        y = (x - mean.to(x.dtype).view(shape)) * inv_std
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y


def convert_to_cpu_sync_batchnorm(module):
    """Turn every ``nn.SyncBatchNorm`` of ``module`` into a ``CPUSyncBatchNorm``.

    The class is swapped in place (``nn.SyncBatchNorm`` keeps the same
    attributes): parameters, buffers and state-dict keys are those of the
    original layers, so checkpoints load unchanged.
    """
    for m in module.modules():
        # isinstance: mmcv's 'SyncBN' is mmengine's thin subclass of it
        if isinstance(m, nn.SyncBatchNorm):
            m.__class__ = CPUSyncBatchNorm
    return module
