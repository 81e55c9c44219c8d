"""Multi-spectral channel attention (FcaNet).

Paper: "FcaNet: Frequency Channel Attention Networks", Z. Qin, P. Zhang,
F. Wu, X. Li, ICCV 2021 (arXiv:2012.11879). Reference code: cfzd/FcaNet
(``model/layer.py``).
"""
import math

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer

from ..checks import check_input
from ..ops import adaptive_pool_matrix
from .layers import LinearMLP, reduced_channels

#: The authors' 'top16' frequencies (u along H, v along W) on a 7 x 7 grid,
#: best first.
TOP16_FREQUENCIES = ((0, 0), (0, 1), (6, 0), (0, 5), (0, 2), (1, 0), (1, 2),
                     (4, 0), (5, 0), (1, 6), (3, 0), (0, 4), (0, 6), (0, 3),
                     (3, 5), (2, 2))


#: The authors' DCT size per ResNet stage (1-4): each stage's output size at
#: 224 x 224 (cfzd/FcaNet ``c2wh``), for classification and detection
#: alike; one plugin entry per stage gives it (configs/plugins/*fcanet*).
FCANET_AUTHORS_DCT_SIZES = (56, 28, 14, 7)


def dct_basis(frequency, size):
    """Orthonormal 1-D DCT-II basis vector of ``frequency`` on ``size``
    points: cos(pi * f * (i + 1/2) / L) / sqrt(L), times sqrt(2) if f > 0.
    """
    i = torch.arange(size, dtype=torch.float64)
    basis = torch.cos(math.pi * frequency * (i + 0.5) / size) / math.sqrt(size)
    return basis * math.sqrt(2) if frequency else basis


class MultiSpectralChannelAttention(nn.Module):
    """FcaNet: SE whose squeeze is a set of 2-D DCT components; keeps shape.

    C is split into F equal consecutive groups (F = 16 frequencies by
    default). Group k is squeezed by the fixed DCT filter of frequency
    (u_k, v_k): y_c = sum_{h,w} x'[c, h, w] * D_k(h) E_k(w), D_k and E_k the
    1-D bases of frequency u_k * (dct_h // 7) on dct_h points and
    v_k * (dct_w // 7) on dct_w points (the 7 x 7 grid scaled to the DCT
    size, as in the authors' code), x' = x adaptive-average-pooled to
    (dct_h, dct_w) (x itself when it has that size). Then a =
    sigmoid(fc2(ReLU(fc1(y)))), bias-free Linear C -> C // r -> C, and
    out = x * a. Frequency (0, 0) is GAP times sqrt(dct_h * dct_w).

    Choices and deviations:

    - The pooling and the DCT are folded into one filter per frequency on
      the input's H x W (the pooling matrices are products, see
      :func:`~mmattn.ops.adaptive_avg_pool`): equal to pooling
      then filtering, with a deterministic backward and an ONNX export that
      keeps H and W dynamic.
    - The filters are a non-persistent buffer ``dct_filters`` (F, dct_h,
      dct_w) (one per frequency, not one per channel as the authors'):
      they are fixed and derived from the arguments, so they stay out of the
      state dict. The authors' ``fc.0``/``fc.2`` weights load as
      ``mlp.fc1``/``mlp.fc2``.
    - ``dct_size`` defaults to 7 (any input is pooled to 7 x 7). The paper
      uses 56/28/14/7 for ResNet stages 1-4 (the stage's output size at
      224 x 224); give it per stage for that setting.
    - No identity start (a multiplicative gate, as in the paper).

    Args:
        in_channels (int): channels C of the input, divisible by the number
            of frequencies.
        dct_size (int | tuple[int, int]): (dct_h, dct_w), each >= 7.
            Defaults to 7.
        reduction (int): reduction ratio r, 1 <= r <= C. Defaults to 16.
        frequencies (sequence[tuple[int, int]], optional): (u, v) pairs on
            the 7 x 7 grid, 0 <= u, v < 7. Defaults to the authors' top 16
            (:data:`TOP16_FREQUENCIES`); its first k give their 'top{k}'.
        gate_cfg (dict): activation making the gate. Defaults to Sigmoid.

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1.

    Init: PyTorch's default for the Linear layers.

    State-dict keys: ``mlp.fc1.weight``, ``mlp.fc2.weight``.
    """

    picture = 'channel_gate'  # how mmattn.visualization draws it

    role = 'plugin'  # see mmattn.blocks.catalog
    label = 'FcaNet'

    _abbr_ = 'fca'

    def __init__(self,
                 in_channels,
                 dct_size=7,
                 reduction=16,
                 frequencies=None,
                 gate_cfg=dict(type='Sigmoid')):
        super().__init__()
        self.hidden_channels = reduced_channels(in_channels, reduction)
        sizes = ((dct_size, dct_size) if not isinstance(
            dct_size, (tuple, list)) else tuple(dct_size))
        if len(sizes) != 2:
            raise ValueError(f'dct_size must be an int >= 7 or a pair '
                             f'of them, got {dct_size!r}')
        dct_h, dct_w = sizes
        for value in (dct_h, dct_w):
            if isinstance(value, bool) or not isinstance(value, int) \
                    or value < 7:
                raise ValueError(f'dct_size must be an int >= 7 or a pair '
                                 f'of them, got {dct_size!r}')
        frequencies = TOP16_FREQUENCIES if frequencies is None else tuple(
            tuple(f) if isinstance(f, (tuple, list)) else f
            for f in frequencies)
        if not frequencies or not all(
                isinstance(f, tuple) and len(f) == 2 and all(
                    type(g) is int and 0 <= g < 7 for g in f)
                for f in frequencies):
            raise ValueError(
                f'frequencies must be a non-empty sequence of (u, v) int '
                f'pairs with 0 <= u, v < 7, got {frequencies!r}')
        if in_channels % len(frequencies):
            raise ValueError(
                f'in_channels must be divisible by the number of '
                f'frequencies ({len(frequencies)}), got {in_channels!r}')
        self.in_channels = in_channels
        self.reduction = reduction
        self.dct_size = (dct_h, dct_w)
        self.frequencies = frequencies

        filters = torch.stack([
            torch.outer(dct_basis(u * (dct_h // 7), dct_h),
                        dct_basis(v * (dct_w // 7), dct_w))
            for u, v in frequencies
        ])
        self.register_buffer('dct_filters', filters.float(),
                             persistent=False)
        self.mlp = LinearMLP(in_channels, self.hidden_channels, in_channels)
        self.gate = build_activation_layer(gate_cfg)

    def spectral_pool(self, x):
        """y: the DCT component of each channel's group, (N, C)."""
        n, c, h, w = x.shape
        dct_h, dct_w = self.dct_size
        filters = self.dct_filters.to(x.dtype)
        rows = adaptive_pool_matrix(h, dct_h, filters)  # (dct_h, H)
        cols = adaptive_pool_matrix(w, dct_w, filters)  # (dct_w, W)
        # filter on the input grid: pooling then filtering in one step
        filters = rows.t() @ filters @ cols  # (F, H, W)
        groups = len(self.frequencies)
        y = x.reshape(n, groups, c // groups, h * w) @ filters.view(
            groups, h * w, 1)
        return y.view(n, c)

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        a = self.gate(self.mlp(self.spectral_pool(x)))
        return x * a[:, :, None, None]
