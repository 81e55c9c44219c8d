"""SimAM: a simple, parameter-free attention module.

Paper: "SimAM: A Simple, Parameter-Free Attention Module for Convolutional
Neural Networks", L. Yang, R.-Y. Zhang, L. Li, X. Xie, ICML 2021. Reference:
the authors' code (ZjjConan/SimAM, ``simam_module``).
"""
import torch
import torch.nn as nn

from ..checks import check_input, check_positive_int, check_real


class SimAM(nn.Module):
    """SimAM: each activation weighted by the inverse of its minimal energy;
    keeps the input shape, no parameters.

    Per channel, over its n + 1 = H * W positions: mu = mean(x);
    d = (x - mu)^2; v = sum(d) / n; e_inv = d / (4 (v + lambda)) + 1/2;
    out = x * sigmoid(e_inv) (Eq. 5-6: a neuron that stands out from its
    channel's others gets a lower energy, so a larger weight).

    Deviation: a 1 x 1 map has n = 0, where the authors' code divides 0 by
    0 and returns NaN; here n is taken as at least 1 (d = 0 there, so the
    weight is sigmoid(1/2), as for any position equal to its channel's
    mean).

    Args:
        in_channels (int): channels C of the input (checked only: the
            module has no parameters).
        e_lambda (float): lambda, > 0, the regulariser of the energy.
            Defaults to 1e-4 (the paper's).

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1.

    State-dict keys: none.
    """

    role = 'plugin'  # see mmattn.blocks.catalog
    label = 'SimAM'

    _abbr_ = 'simam'

    def __init__(self, in_channels, e_lambda=1e-4):
        super().__init__()
        check_positive_int('in_channels', in_channels)
        check_real('e_lambda', e_lambda, positive=True)
        self.in_channels = in_channels
        self.e_lambda = float(e_lambda)

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        n = max(x.shape[2] * x.shape[3] - 1, 1)
        d = (x - x.mean(dim=(2, 3), keepdim=True)).square()
        v = d.sum(dim=(2, 3), keepdim=True) / n
        return x * torch.sigmoid(d / (4 * (v + self.e_lambda)) + 0.5)

    def extra_repr(self):
        return f'in_channels={self.in_channels}, e_lambda={self.e_lambda}'
