"""Non-local block.

Paper: "Non-local Neural Networks", X. Wang, R. Girshick, A. Gupta, K. He,
CVPR 2018 (arXiv:1711.07971). Reference implementation matched here:
``mmcv.cnn.NonLocal2d`` (mmcv 2.1.0), the block inside mmseg's ``NLHead``.

Every query position gathers the values of all key positions weighted by a
pairwise function f of the two embeddings: y_i = sum_j f(q_i, k_j) v_j / C(x),
out = x + W(y). The softmax modes go through the shared exact attention op
(fused SDPA kernels, or its query-chunked path), so the (P, P) affinity is
never kept for the backward; the dot-product mode is linear in the values and
is computed without forming it at all.
"""
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import constant_init, normal_init

from ..ops import dot_product_attention
from ..checks import (check_bool, check_choice, check_input,
                      check_positive_int, check_real)
from .layers import rename_state_keys

MODES = ('embedded_gaussian', 'gaussian', 'dot_product', 'concatenation')


def _flat_positions(x):
    """(N, C, H, W) -> (N, H*W, C): one row per position (a view; the
    attention op makes it unit-stride where its fused kernel needs that)."""
    return x.flatten(2).transpose(1, 2)


class NonLocal(nn.Module):
    """Non-local block, a drop-in for mmcv's ``NonLocal2d``; keeps the shape.

    With theta, phi, g 1x1 convs ``C -> C_i`` (``C_i = max(C // reduction,
    1)``), queries q = theta(x), keys k = phi(x), values v = g(x), all
    flattened to (N, P, C_i):

    * ``embedded_gaussian``: y = softmax(s * q k^T) v, s = C_i^-0.5 when
      ``use_scale`` else 1.
    * ``gaussian``: no theta/phi convs; q = x, k = x (both C wide, unscaled):
      y = softmax(x x^T) v.
    * ``dot_product``: y = (q k^T / P_k) v, computed as q (k^T v) / P_k:
      O(P C_i^2) time and O(P) memory instead of the (P, P_k) matrix.
    * ``concatenation``: f_ij = ReLU(w^T [q_i; k_j]) / P_k, with w the weight
      of ``concat_project`` (1x1 conv 2 C_i -> 1, no bias). Being linear
      before the ReLU, w^T [q_i; k_j] = a_i + b_j, so the (P, P_k) matrix is
      formed from two vectors instead of mmcv's (2 C_i, P, P_k) concatenation.

    out = x + conv_out(y), conv_out a 1x1 conv ``C_i -> C`` followed by the
    norm of ``norm_cfg``. ``P_k`` is the number of key positions (P, or the
    sub-sampled count).

    Constructor arguments, parameter names, state-dict keys and the
    initialisation (with the same seed, the same weights) are mmcv's, so
    ``NonLocal2d`` checkpoints load strictly and configs written for it work
    unchanged.

    Args:
        in_channels (int): channels C of the input.
        sub_sample (bool): 2x2 max-pool keys and values (phi and g; in the
            gaussian mode the keys are x itself) to quarter P_k. Odd sizes
            drop the last row/column as ``nn.MaxPool2d`` does; H, W >= 2.
            Defaults to False.
        conv_cfg (dict, optional): conv layer of theta, phi, g and conv_out
            (mmcv config). Defaults to ``dict(type='Conv2d')``.
        reduction (int): C_i = max(C // reduction, 1). Defaults to 2.
        use_scale (bool): scale the embedded-gaussian logits by C_i^-0.5.
            Ignored by the other modes, as in mmcv. Defaults to True.
        norm_cfg (dict, optional): norm after conv_out. Defaults to None.
        mode (str): one of ``'embedded_gaussian'`` (default),
            ``'gaussian'``, ``'dot_product'``, ``'concatenation'``.
        std (float): std of the normal init of theta, phi, g (and of
            conv_out when ``zeros_init`` is False). Defaults to 0.01.
        zeros_init (bool): zero conv_out (its norm's weight and bias when
            there is a norm, else the conv's) so the block starts as the
            identity, as the paper prescribes. Defaults to True.

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1 (>= 2 with
        ``sub_sample``).

    State-dict keys: ``g.conv.*`` (``g.0.conv.*`` with ``sub_sample``),
    ``theta.conv.*``, ``phi.conv.*`` (``phi.0.conv.*``), ``conv_out.conv.*``,
    ``conv_out.<norm>.*``, ``concat_project.conv.weight``.
    """

    picture = 'non_local'  # how mmattn.visualization draws it

    role = 'plugin'  # see mmattn.blocks.catalog
    identity_init = {}  # starts as the identity: see catalog
    label = 'NL'
    small_cfg = dict(reduction=8)

    _abbr_ = 'nonlocal_block'

    def __init__(self,
                 in_channels,
                 sub_sample=False,
                 conv_cfg=dict(type='Conv2d'),
                 *,
                 reduction=2,
                 use_scale=True,
                 norm_cfg=None,
                 mode='embedded_gaussian',
                 std=0.01,
                 zeros_init=True):
        super().__init__()
        check_positive_int('in_channels', in_channels)
        check_positive_int('reduction', reduction)
        check_choice('mode', mode, MODES)
        check_real('std', std, positive=True)
        self.in_channels = in_channels
        self.reduction = reduction
        check_bool('use_scale', use_scale)
        check_bool('sub_sample', sub_sample)
        check_bool('zeros_init', zeros_init)
        self.use_scale = use_scale
        self.inter_channels = max(in_channels // reduction, 1)
        self.mode = mode
        self.sub_sample = sub_sample
        self.std = std
        self.zeros_init = zeros_init

        # Built in mmcv's order, so that one seed gives mmcv's weights.
        def projection(in_ch, out_ch, **kwargs):
            return ConvModule(in_ch, out_ch, 1, conv_cfg=conv_cfg,
                              act_cfg=None, **kwargs)

        self.g = projection(in_channels, self.inter_channels)
        self.conv_out = projection(self.inter_channels, in_channels,
                                   norm_cfg=norm_cfg)
        if mode != 'gaussian':
            self.theta = projection(in_channels, self.inter_channels)
            self.phi = projection(in_channels, self.inter_channels)
        if mode == 'concatenation':
            self.concat_project = ConvModule(
                self.inter_channels * 2, 1, 1, bias=False,
                act_cfg=dict(type='ReLU'))
        if self.sub_sample:
            pool = nn.MaxPool2d(kernel_size=(2, 2))
            self.g = nn.Sequential(self.g, pool)
            self.phi = (pool if mode == 'gaussian' else nn.Sequential(
                self.phi, pool))
        self.init_weights()

    def init_weights(self):
        """mmcv's init: normal(std) embeddings; conv_out zero (or normal).

        Uses the ``std`` and ``zeros_init`` given to the constructor (mmcv's
        ``init_weights`` falls back to its defaults when mmengine calls it
        again from a parent model).
        """
        embeddings = [self.g]
        if self.mode != 'gaussian':
            embeddings += [self.theta, self.phi]
        for module in embeddings:
            # sub-sampling wraps a projection as Sequential(conv, pool)
            if isinstance(module, nn.Sequential):
                module = module[0]
            normal_init(module.conv, std=self.std)
        last = (self.conv_out.conv if self.conv_out.norm_cfg is None else
                self.conv_out.norm)
        if self.zeros_init:
            constant_init(last, 0)
        else:
            normal_init(last, std=self.std)

    @staticmethod
    def convert_timm_state_dict(state_dict):
        """timm ``NonLocalAttn`` state -> this block's, for
        ``NonLocal(C, reduction=C // C_i, norm_cfg=dict(type='BN'))``.

        timm's t, p, g, z are theta, phi, g, conv_out; its BN after z is
        ``conv_out.bn``. Two differences are folded into the weights, so the
        outputs are the same: timm scales the logits by C^-0.5, this block by
        C_i^-0.5, so theta is multiplied by (C_i / C)^(1/2); and z's bias,
        which the BN right after it cancels in training, moves into the BN's
        running mean."""
        out = rename_state_keys(
            state_dict, {'t.': 'theta.conv.', 'p.': 'phi.conv.',
                         'g.': 'g.conv.', 'z.': 'conv_out.conv.',
                         'norm.': 'conv_out.bn.'}, "timm's NonLocalAttn")
        inter_channels, in_channels = out['theta.conv.weight'].shape[:2]
        factor = (inter_channels / in_channels)**0.5
        for name in ('weight', 'bias'):
            out[f'theta.conv.{name}'] = out[f'theta.conv.{name}'] * factor
        bias = out.pop('conv_out.conv.bias')
        out['conv_out.bn.running_mean'] = (
            out['conv_out.bn.running_mean'] - bias)
        return out

    def _pairwise_relu(self, query, key):
        """ReLU(a_i + b_j) / P_k, (N, P, P_k), float32.

        concat_project is a plain bias-free 1x1 conv followed by ReLU in
        mmcv whatever the configs, which is what makes the split exact.
        """
        # (2 C_i, 1): theta's half, then phi's. Column vectors, not 1-D:
        # onnxruntime's graph optimiser miscomputes a MatMul with a 1-D
        # weight fed by this Transpose/Cast chain (measured with
        # onnxruntime 1.31.1, CPU provider, 0.8 absolute errors).
        weight = self.concat_project.conv.weight.flatten(1).t().float()
        a = query @ weight[:self.inter_channels]  # (N, P, 1)
        b = key @ weight[self.inter_channels:]  # (N, P_k, 1)
        pairwise = torch.relu(a + b.transpose(1, 2))
        return pairwise / key.size(1)

    # mmcv's NonLocal2d pairwise functions, public under its names and
    # signatures (theta_x (N, P, C_i), phi_x (N, C_i, P_k) -> (N, P, P_k);
    # concatenation: (N, C_i, P, 1), (N, C_i, 1, P_k)), for code written
    # against it. forward does not call them: it fuses each into the
    # attention op without the (P, P_k) matrix where it can.
    def gaussian(self, theta_x, phi_x):
        """softmax over the keys of theta_x phi_x."""
        return torch.matmul(theta_x, phi_x).softmax(dim=-1)

    def embedded_gaussian(self, theta_x, phi_x):
        """:meth:`gaussian` of the logits scaled by C_i^-0.5 where
        ``use_scale``."""
        logits = torch.matmul(theta_x, phi_x)
        if self.use_scale:
            logits = logits / theta_x.shape[-1]**0.5
        return logits.softmax(dim=-1)

    def dot_product(self, theta_x, phi_x):
        """theta_x phi_x / P_k."""
        logits = torch.matmul(theta_x, phi_x)
        return logits / logits.shape[-1]

    def concatenation(self, theta_x, phi_x):
        """ReLU(concat_project([theta_i, phi_j])) / P_k (mode
        ``'concatenation'`` only: the other modes have no concat_project)."""
        if self.mode != 'concatenation':
            raise AttributeError(
                f"concatenation needs mode='concatenation' (its "
                f'concat_project), this block has mode={self.mode!r}')
        query = theta_x.flatten(2).transpose(1, 2)  # (N, P, C_i)
        key = phi_x.flatten(2).transpose(1, 2)  # (N, P_k, C_i)
        return self._pairwise_relu(query, key).to(theta_x.dtype)

    def _unnormalised_modes(self, query, key, value):
        """dot_product and concatenation: y = f(q, k) v, f not a softmax."""
        dtype = value.dtype
        # Sums of P_k products of unbounded embeddings: float32, autocast
        # off, so fp16/bf16 neither overflow nor lose the small terms.
        with torch.autocast(device_type=value.device.type, enabled=False):
            query, key, value = query.float(), key.float(), value.float()
            if self.mode == 'dot_product':
                # (q k^T) v == q (k^T v): no (P, P_k) matrix.
                context = key.transpose(1, 2) @ value / key.size(1)
                y = query @ context
            else:
                y = self._pairwise_relu(query, key) @ value
        return y.to(dtype)

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        n, _, h, w = x.shape
        if self.sub_sample and (h < 2 or w < 2):
            raise ValueError(
                f'sub_sample=True needs H, W >= 2, got x of shape '
                f'{tuple(x.shape)}')
        value = _flat_positions(self.g(x))
        if self.mode == 'gaussian':
            query = _flat_positions(x)
            key = _flat_positions(self.phi(x) if self.sub_sample else x)
            y = dot_product_attention(query, key, value, scale=1.0)
        else:
            query = _flat_positions(self.theta(x))
            key = _flat_positions(self.phi(x))
            if self.mode == 'embedded_gaussian':
                scale = self.inter_channels**-0.5 if self.use_scale else 1.0
                y = dot_product_attention(query, key, value, scale=scale)
            else:
                y = self._unnormalised_modes(query, key, value)
        y = y.transpose(1, 2).reshape(n, self.inter_channels, h, w)
        return x + self.conv_out(y)
