"""Salient-positions attention (SPANet).

Paper: "Salient Positions based Attention Network for Image Classification",
S. Fang, K. Li, Z. Li (arXiv:2106.04996). Reference code: likyoo/SPANet.

Instead of every position attending to every other (non-local, O(P^2)), the
block keeps the k positions whose embedded feature vectors have the largest
squared L2 norm and builds a channel affinity from them, which then mixes the
channels of every position. Cost is O(P*C' + k*C'^2 + P*C'^2).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer

from ..ops import salient_select
from ..checks import (check_bool, check_input, check_positive_int,
                      renamed_arguments)
from ..ops import resize_bilinear


class SalientPositionAttention(nn.Module):
    """Salient-positions attention block; keeps the input shape.

    For x of shape (N, C, H, W): theta = conv1x1(x) and g = conv1x1(x), both
    with ``hidden_channels``. The k positions of theta with the largest squared
    L2 norm give S (N, C', k); A = softmax(S @ S^T) over the last dim (N, C',
    C'); y = A @ g(x) per position; out = x + W(y), where W is a 1x1 conv back
    to C followed by a norm layer.

    Args:
        in_channels (int): channels C of the input.
        hidden_channels (int, optional): embedded channels C'. Defaults to
            ``max(1, in_channels // 2)``. Formerly ``inter_channels``
            (deprecated name, accepted with a warning).
        k (int): number of salient positions. Defaults to 8. Ignored when
            ``adaptive`` is True. Maps with fewer than k positions use all.
        adaptive (bool): use ``k = max(1, H*W // k_divisor)`` of each input.
        k_divisor (int): positions per selected position for the adaptive k
            (it divides H*W, not the channels). Defaults to 16. Formerly
            ``reduction`` (deprecated name, accepted with a warning).
        sub_sample (bool): max-pool g by 2 before aggregation and upsample
            W(y) bilinearly (align_corners=True) back to H x W. Any H x W
            works: the upsampling targets the input size, not a fixed factor.
        norm_cfg (dict, optional): norm layer after W's conv (mmcv config).
            None leaves W a bare conv.
        zero_init (bool): start W's output at zero (norm weight, or the conv
            when there is no norm), so the block is the identity at step 0.
            The paper and reference code do not (BN weight 1): default False.
        use_scale (bool): divide the energies ``S @ S^T`` by ``sqrt(k)`` (each
            is a sum over the k selected positions), as NonLocal's
            ``use_scale`` divides by the square root of what its products sum
            over. Not in the paper or the reference code: default False.
            Unscaled energies grow into the hundreds in training and every
            row of A saturates to one-hot (see docs/long_range.md, "SPANet's
            weak seed").

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W). With
        ``forward(x, return_attention=True)`` the output is
        ``(out, dict(indices=(N, k) int64, affinity=(N, C', C') float32))``.

    State-dict keys follow the reference (``theta``, ``g`` (``g.0`` with
    sub-sampling), ``W.0``, ``W.1``); the reference's unused ``phi`` conv is
    not built and its keys are ignored when loading.
    """

    picture = 'salient_position'  # how mmattn.visualization draws it

    role = 'plugin'  # see mmattn.blocks.catalog
    identity_init = dict(zero_init=True)  # starts as the identity: see catalog
    label = 'SPANet'

    _abbr_ = 'spa'

    @renamed_arguments(reduction='k_divisor',
                       inter_channels='hidden_channels')
    def __init__(self,
                 in_channels,
                 hidden_channels=None,
                 k=8,
                 adaptive=False,
                 k_divisor=16,
                 sub_sample=False,
                 norm_cfg=dict(type='BN'),
                 zero_init=False,
                 use_scale=False):
        super().__init__()
        check_positive_int('in_channels', in_channels)
        check_positive_int('hidden_channels', hidden_channels,
                           allow_none=True)
        check_positive_int('k', k)
        check_positive_int('k_divisor', k_divisor)
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels or max(1, in_channels // 2)
        self.k = k
        check_bool('adaptive', adaptive)
        check_bool('sub_sample', sub_sample)
        check_bool('zero_init', zero_init)
        check_bool('use_scale', use_scale)
        self.use_scale = use_scale
        self.adaptive = adaptive
        self.k_divisor = k_divisor
        self.sub_sample = sub_sample

        self.theta = nn.Conv2d(in_channels, self.hidden_channels, 1)
        g = nn.Conv2d(in_channels, self.hidden_channels, 1)
        self.g = nn.Sequential(g, nn.MaxPool2d(2)) if sub_sample else g
        layers = [nn.Conv2d(self.hidden_channels, in_channels, 1)]
        if norm_cfg is not None:
            layers.append(build_norm_layer(norm_cfg, in_channels)[1])
        self.W = nn.Sequential(*layers)
        self.zero_init = zero_init
        self.init_weights()
        self._register_load_state_dict_pre_hook(self._drop_reference_phi)

    def init_weights(self):
        """Apply ``zero_init`` (nothing when False). Re-applied when a
        backbone initialises its children, after its ``init_cfg`` (which
        would otherwise set the norm's weight back to 1)."""
        if self.zero_init:
            nn.init.zeros_(self.W[-1].weight)
            nn.init.zeros_(self.W[-1].bias)

    @staticmethod
    def _drop_reference_phi(state_dict, prefix, *args):
        for key in [k for k in state_dict if k.startswith(prefix + 'phi.')]:
            del state_dict[key]

    def num_positions(self, height, width):
        """The k used for an H x W input (the module is never changed)."""
        if self.adaptive:
            return max(1, height * width // self.k_divisor)
        return self.k

    def _g_conv(self):
        return self.g[0] if self.sub_sample else self.g

    def _project(self, x):
        """theta(x) and g(x) from one GEMM over x (the 1x1 convs share it)."""
        g_conv = self._g_conv()
        both = F.conv2d(x, torch.cat([self.theta.weight, g_conv.weight]),
                        torch.cat([self.theta.bias, g_conv.bias]))
        theta, g = both.split(self.hidden_channels, dim=1)
        if self.sub_sample:
            g = self.g[1](g)
        return theta, g

    def energies(self, selected):
        """The (N, C', C') energies ``S @ S^T`` of the selected features
        ``S`` (N, C', k'), divided by sqrt(k') with ``use_scale``; the
        affinity is their row-wise softmax. Computed in ``selected``'s
        dtype."""
        energy = selected @ selected.transpose(1, 2)
        if self.use_scale:
            energy = energy / selected.shape[-1]**0.5
        return energy

    def forward(self, x, return_attention=False):
        check_input(x, self.in_channels, module=self)
        n, _, h, w = x.shape
        if self.sub_sample and (h < 2 or w < 2):
            raise ValueError(
                f'sub_sample=True needs H, W >= 2, got x of shape '
                f'{tuple(x.shape)}')
        theta, g = self._project(x)
        selected, indices = salient_select(theta, self.num_positions(h, w))
        # The C' x C' energies are sums of k products of unbounded features:
        # softmax in float32 with autocast off keeps fp16/bf16 from overflow.
        with torch.autocast(x.device.type, enabled=False):
            affinity = torch.softmax(self.energies(selected.float()), dim=-1)
        # W's 1x1 conv applied to A @ g equals (W A) @ g: folding W into the
        # C' x C' affinity skips the C' x C' x P product and its output.
        conv = self.W[0]
        weight = conv.weight.flatten(1)  # (C, C')
        mixing = weight @ affinity.to(weight.dtype)  # (N, C, C')
        flat_g = g.flatten(2)
        y = torch.baddbmm(conv.bias.view(1, -1, 1).to(flat_g.dtype),
                          mixing.to(flat_g.dtype), flat_g)
        y = y.view(n, self.in_channels, *g.shape[2:])
        if len(self.W) > 1:
            y = self.W[1](y)
        if self.sub_sample:
            y = resize_bilinear(y, (h, w), align_corners=True)
        out = x + y
        if return_attention:
            return out, dict(indices=indices, affinity=affinity)
        return out
