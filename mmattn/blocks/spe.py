"""Self-adaptive pooling attention (SPEM / SPENet).

Paper: "SPEM: Self-adaptive Pooling Enhanced Attention Module for Image
Recognition", S. Zhong, W. Wen, J. Qin (MMM 2023, arXiv:2208.10322); SPENet is
a ResNet with the module in every bottleneck. Reference code: Qrange-group/SPEM
(``models/spem.py``; the auxiliary loss in ``run.py``).

A channel gate made only of per-channel scalars: the global maximum and the
global minimum of each channel, passed through one shared per-channel affine
map, are mixed with two learned pooling weights and squashed into a gate. No
convolution and no reduction ratio: the block adds 4C + 2 parameters.

The paper trains the pooling weights with an auxiliary loss
``alpha * sum(p ** 2)`` summed over the blocks (alpha = 0.1). A block here only
returns a tensor; :meth:`SelfAdaptivePoolingAttention.pooling_penalty` gives
each block's ``sum(p ** 2)``, and ``mmattn.engine.SPEPenaltyHook`` adds the
weighted sum to an mmengine model's losses with one config line.
"""
import torch
import torch.nn as nn

from ..checks import check_input, check_positive_int


class SelfAdaptivePoolingAttention(nn.Module):
    """Self-adaptive pooling channel gate; keeps the input shape.

    For x of shape (N, C, H, W), per channel c::

        m = max over (H, W) of x         n = min over (H, W) of x
        m' = w2 * m + b2                 n' = w2 * n + b2
        p_hat = p ** 2 / sum(p ** 2)
        mix = p_hat[0] * m' + p_hat[1] * n'
        gate = sigmoid(m' + n') * sigmoid(w1 * mix + b1)
        out  = x * gate

    Args:
        in_channels (int): channels C of the input.

    Parameters (state-dict keys as the reference's): ``w1``, ``b1``, ``w2``,
    ``b2`` of shape (1, C, 1, 1) and the pooling weights ``p`` of shape (2,).

    Init (the paper's): w1 = w2 = 0, b1 = b2 = -1, p = [1/2, 1/2]. Then
    m' = n' = mix = -1 whatever the input, so every gate starts at
    sigmoid(-2) * sigmoid(-1) = 0.1192 * 0.2689 = 0.0321: the block is *not*
    the identity at step 0 (it scales the residual branch by ~0.032 where it
    is placed before a residual add).

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W), any H, W >= 1.

    Note:
        p_hat is invariant to the scale of p, so p = 0 is undefined (0 / 0)
        as in the reference; the auxiliary loss only shrinks p, while the
        task loss (whose gradient grows as 1 / |p|) pushes it back out.
    """

    picture = 'channel_gate'  # how mmattn.visualization draws it

    role = 'plugin'  # see mmattn.blocks.catalog
    label = 'SPENet'

    _abbr_ = 'spe'

    def __init__(self, in_channels):
        super().__init__()
        check_positive_int('in_channels', in_channels)
        self.in_channels = in_channels
        shape = (1, in_channels, 1, 1)
        self.w1 = nn.Parameter(torch.empty(shape))
        self.b1 = nn.Parameter(torch.empty(shape))
        self.w2 = nn.Parameter(torch.empty(shape))
        self.b2 = nn.Parameter(torch.empty(shape))
        self.p = nn.Parameter(torch.empty(2))
        self.init_weights()

    def init_weights(self):
        """The paper's start (pooling weights 1/2, gates at sigmoid(-1)).
        Re-applied when a backbone initialises its children (mmengine calls
        ``init_weights`` of each; an ``init_cfg`` never reaches these bare
        parameters) and skipped, as all child inits, when it loads a
        pretrained checkpoint."""
        nn.init.zeros_(self.w1)
        nn.init.zeros_(self.w2)
        nn.init.constant_(self.b1, -1.0)
        nn.init.constant_(self.b2, -1.0)
        nn.init.constant_(self.p, 0.5)

    def pooling_penalty(self):
        """``sum(p ** 2)`` of the unnormalised pooling weights (a scalar with
        gradient), the paper's auxiliary term before its weight alpha."""
        return self.p.square().sum()

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        # amax/amin rather than adaptive_max_pool2d: their backward spreads
        # the gradient evenly over tied extrema instead of scattering to one
        # recorded index, which is deterministic on every device.
        peak = self.w2 * x.amax(dim=(2, 3), keepdim=True) + self.b2
        trough = self.w2 * x.amin(dim=(2, 3), keepdim=True) + self.b2
        weights = self.p.square()
        weights = weights / weights.sum()
        mix = weights[0] * peak + weights[1] * trough
        gate = torch.sigmoid(peak + trough) * torch.sigmoid(
            self.w1 * mix + self.b1)
        # The gate is (N, C, 1, 1) and float32 under autocast (the parameters
        # promote it); cast back so the block keeps x's dtype.
        return x * gate.to(x.dtype)
