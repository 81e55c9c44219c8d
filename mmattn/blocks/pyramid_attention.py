"""Spatial Pyramid Attention (SPA, the ICME 2020 "SPANet").

Paper: "SPANet: Spatial Pyramid Attention Network for Enhanced Image
Recognition", J. Guo, X. Ma, A. Sansom, M. McGuire, A. Kalaani, Q. Chen,
S. Tang, Q. Yang, S. Fu, ICME 2020. Reference code: ma-xu/SPANet
(``SPPSELayer`` in models/spp_se_resnet.py).

Not to be confused with the salient-positions SPANet
(:class:`~mmattn.blocks.SalientPositionAttention`, arXiv:2106.04996), whose
plugin name is ``spa``; this block's is ``pyramid``.
"""
import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer

from ..checks import check_input, check_scales
from ..ops import adaptive_avg_pool
from .layers import LinearMLP, reduced_channels


class SpatialPyramidAttention(nn.Module):
    """SE with a spatial pyramid squeeze; keeps the input shape.

    For each pool size s in ``pool_sizes`` (1, 2, 4): p_s = adaptive average
    pool of x to s x s, flattened channel-major, (N, C * s * s), index
    c * s * s + i * s + j; v = [p_1, p_2, p_4] (N, 21 C); a =
    sigmoid(fc2(ReLU(fc1(v)))) with fc1 21 C -> C // r and fc2 C // r -> C,
    both Linear without bias; out = x * a.

    The pooling bins are ``F.adaptive_avg_pool2d``'s (maps smaller than s
    repeat positions), computed as matrix products so the backward is
    deterministic and the ONNX export keeps H and W dynamic.

    The flatten order and ``nn.Linear`` layers match the authors' code, so
    their ``fc.0.weight``/``fc.2.weight`` load as ``mlp.fc1.weight``/
    ``mlp.fc2.weight``. fc1 is large: 21 C^2 / r weights, about 5.5 M at
    C = 2048.

    Args:
        in_channels (int): channels C of the input.
        reduction (int): reduction ratio r, 1 <= r <= C. Defaults to 16.
        pool_sizes (tuple[int]): output sizes of the pyramid's pools, in
            concatenation order. Defaults to (1, 2, 4).
        gate_cfg (dict): activation making the gate (mmcv config). Defaults
            to Sigmoid.

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1.

    Init: PyTorch's default for the Linear layers (the paper prescribes
    none); the gate starts near 0.5, not at the identity.

    State-dict keys: ``mlp.fc1.weight``, ``mlp.fc2.weight``.
    """

    role = 'plugin'  # see mmattn.blocks.catalog
    label = 'SPA (pyramid)'

    _abbr_ = 'pyramid'

    def __init__(self,
                 in_channels,
                 reduction=16,
                 pool_sizes=(1, 2, 4),
                 gate_cfg=dict(type='Sigmoid')):
        super().__init__()
        self.hidden_channels = reduced_channels(in_channels, reduction)
        check_scales('pool_sizes', pool_sizes)
        self.in_channels = in_channels
        self.reduction = reduction
        self.pool_sizes = tuple(pool_sizes)
        pooled = in_channels * sum(s * s for s in self.pool_sizes)
        self.mlp = LinearMLP(pooled, self.hidden_channels, in_channels)
        self.gate = build_activation_layer(gate_cfg)

    def pyramid(self, x):
        """The concatenated pooled vector v: (N, C * sum(s^2))."""
        return torch.cat([
            adaptive_avg_pool(x, (s, s)).flatten(1) for s in self.pool_sizes
        ], dim=1)

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        a = self.gate(self.mlp(self.pyramid(x)))
        return x * a[:, :, None, None]
