"""Double attention (A^2-Nets).

Paper: "A^2-Nets: Double Attention Networks", Y. Chen, Y. Kalantidis, J. Li,
S. Yan, J. Feng, NeurIPS 2018 (arXiv:1810.11579). No official code.
"""
import torch
import torch.nn as nn

from ..checks import (check_bool, check_input, check_positive_int,
                      renamed_arguments)
from .layers import reduced_channels


class DoubleAttention(nn.Module):
    """Double attention block: gather, then distribute; keeps the shape.

    With P = H * W positions and three 1x1 convs, A = phi(x) (c_m, P),
    B = theta(x) (c_n, P), V = rho(x) (c_n, P):

    - gather: B^ = softmax of each of the c_n maps of B over the P
      positions; G = A B^T (c_m, c_n), c_n global descriptors;
    - distribute: V^ = softmax of V over the c_n descriptors at each
      position; Z = G V^ (c_m, P);
    - out = x + recon(Z), recon a 1x1 conv c_m -> C.

    Choices (the paper leaves them open; marked unverified where they are
    guesses):

    - c_m = c_n = C // 4 by default (``reduction=4``), the usual choice of
      re-implementations; the paper's own widths are unverified.
    - theta has no bias: a per-map constant cancels in a softmax over
      positions, so its gradient would always be zero. phi, rho and recon
      have biases.
    - recon's weight and bias start at zero (``zero_init=True``), so the
      block starts as the identity and can go into a pretrained backbone;
      :meth:`init_weights` re-applies it after a backbone's ``init_cfg``
      (mmseg/mmdet ResNet's Kaiming init of every ``Conv2d``). A
      ``Pretrained`` checkpoint still wins. At step 0 only recon receives
      gradient.
    - The softmaxes and the two products run in float32 with autocast
      disabled; the result is cast back to x's dtype.

    Args:
        in_channels (int): channels C of the input.
        reduction (int): c_m = c_n = C // reduction unless given,
            1 <= reduction <= C. Defaults to 4.
        hidden_channels (int, optional): c_m, channels of A and of each
            global descriptor. Defaults to C // reduction. Formerly
            ``mid_channels`` (deprecated name, accepted with a warning).
        num_descriptors (int, optional): c_n, number of attention maps and
            of global descriptors. Defaults to C // reduction.
        zero_init (bool): zero recon so the block starts as the identity.
            Defaults to True.

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1.

    State-dict keys: ``phi.*``, ``theta.weight``, ``rho.*``, ``recon.*``.
    """

    role = 'plugin'  # see mmattn.blocks.catalog
    identity_init = {}  # starts as the identity: see catalog
    label = 'A2'

    _abbr_ = 'a2'

    @renamed_arguments(mid_channels='hidden_channels')
    def __init__(self,
                 in_channels,
                 reduction=4,
                 hidden_channels=None,
                 num_descriptors=None,
                 zero_init=True):
        super().__init__()
        check_positive_int('in_channels', in_channels)
        check_positive_int('hidden_channels', hidden_channels,
                           allow_none=True)
        check_positive_int('num_descriptors', num_descriptors,
                           allow_none=True)
        check_bool('zero_init', zero_init)
        if hidden_channels is None or num_descriptors is None:
            default = reduced_channels(in_channels, reduction)
        else:
            check_positive_int('reduction', reduction)
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels or default
        self.num_descriptors = num_descriptors or default
        self.zero_init = zero_init

        self.phi = nn.Conv2d(in_channels, self.hidden_channels, 1)
        self.theta = nn.Conv2d(in_channels, self.num_descriptors, 1,
                               bias=False)
        self.rho = nn.Conv2d(in_channels, self.num_descriptors, 1)
        self.recon = nn.Conv2d(self.hidden_channels, in_channels, 1)
        self.init_weights()

    def init_weights(self):
        """Zero recon (see the class doc)."""
        if self.zero_init:
            nn.init.zeros_(self.recon.weight)
            nn.init.zeros_(self.recon.bias)

    def attend(self, x):
        """Z = G V^ before recon: (N, c_m, H, W)."""
        n, _, h, w = x.shape
        a = self.phi(x).flatten(2)
        b = self.theta(x).flatten(2)
        v = self.rho(x).flatten(2)
        # at least float32 (float64 stays float64)
        dtype = torch.promote_types(x.dtype, torch.float32)
        with torch.autocast(device_type=x.device.type, enabled=False):
            a, b, v = a.to(dtype), b.to(dtype), v.to(dtype)
            descriptors = a @ b.softmax(dim=2).transpose(1, 2)  # gather
            z = descriptors @ v.softmax(dim=1)  # distribute
        return z.to(x.dtype).view(n, self.hidden_channels, h, w)

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        return x + self.recon(self.attend(x))
