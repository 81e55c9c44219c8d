"""Relation-aware global attention (RGA-S, RGA-C, RGA-SC).

Paper: "Relation-Aware Global Attention for Person Re-identification",
Z. Zhang, C. Lan, W. Zeng, X. Jin, Z. Chen, CVPR 2020 (arXiv:1904.02998).
Reference code: microsoft/Relation-Aware-Global-Attention-Networks
(``reid/models/models_utils/rga_modules.py``).
"""
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from ..checks import check_choice, check_input, check_positive_int
from ..ops import adaptive_avg_pool, resize_bilinear


def _pair_of_positive_ints(name, value):
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) or v <= 0
                   for v in value)):
        raise ValueError(
            f'{name} must be a positive int or a pair of positive ints, '
            f'got {value!r}')
    return tuple(value)


def _relation_logits(theta, phi):
    """R = theta^T phi, (N, c, P) x (N, c, P) -> (N, P, P), in float32 with
    autocast off (sums of c products of unbounded features), returned in the
    features' dtype."""
    with torch.autocast(device_type=theta.device.type, enabled=False):
        relation = theta.float().transpose(1, 2) @ phi.float()
    return relation.to(theta.dtype)


class RelationAwareAttention(nn.Module):
    """RGA: spatial and/or channel gates from pairwise relations; keeps the
    input shape.

    Spatial (RGA-S), on a map with P positions: theta, phi = ConvBNReLU
    C -> C/r_c; R = theta^T phi (P x P); node i gets its relation vector
    [R(i, :), R(:, i)] (2P numbers) -> ConvBNReLU 2P -> P/r_s; concat with
    mean over channels of ConvBNReLU C -> C/r_c (x) (1 + P/r_s channels) ->
    ConvBNReLU -> (1 + P/r_s)/r_d -> conv -> 1 -> BN -> sigmoid; x * gate.
    Channel (RGA-C): the same with the C channels as nodes and the P
    positions as features. ``'spatial_channel'`` (RGA-SC, the paper's best)
    applies the spatial gate, then the channel gate on its output.

    Fixed spatial size: the relation vectors have one entry per position, so
    P is baked into conv channels (both variants). The block therefore
    computes its gates on x average-pooled to ``spatial_size`` (adaptive
    average pooling as two matrix products: ONNX-exportable with dynamic H
    and W, deterministic in backward; the identity when x already has that
    size); the spatial gate is resized back to H x W bilinearly
    (``align_corners=False``; :func:`resize_bilinear`, deterministic on CUDA
    too), the channel gate is (N, C, 1, 1) anyway. Any H, W >= 1 works,
    smaller than ``spatial_size`` included (bins then repeat positions).
    Memory is O(P^2 + C^2) per image, independent of H x W.

    Widths: ``max(1, n // ratio)`` for each reduction; the reference's
    ``n // ratio`` is the same for every realistic width but is 0 (a broken
    conv) for small ones.

    Args:
        in_channels (int): channels C of the input.
        spatial_size (int | tuple[int, int]): (h, w) of the grid the gates
            are computed on. Defaults to 16 (P = 256).
        mode (str): ``'spatial'``, ``'channel'`` or ``'spatial_channel'``.
            Defaults to ``'spatial_channel'``.
        channel_ratio (int): r_c, reduction of the channel embeddings.
            Defaults to 8.
        spatial_ratio (int): r_s, reduction of the position embeddings.
            Defaults to 8.
        down_ratio (int): r_d, reduction inside the gate MLP. Defaults to 8.
        norm_cfg (dict): norm of every conv (mmcv config). Defaults to BN.

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1.

    Init: ``ConvModule``'s (Kaiming, BN weight 1, bias 0) as the reference;
    the gates start around sigmoid of a unit-variance logit, not at 1: the
    paper does not start as the identity.

    State-dict keys (per variant, ``s`` or ``c``): ``theta_s``, ``phi_s``,
    ``embed_s`` (the reference's ``gx_spatial``), ``relation_s``
    (``gg_spatial``), ``gate_s.0``, ``gate_s.1`` (``W_spatial``), each a
    ``ConvModule`` (``.conv.weight``, ``.bn.*``).
    """

    role = 'plugin'  # see mmattn.blocks.catalog
    label = 'RGA'
    small_cfg = dict(spatial_size=4)

    _abbr_ = 'rga'
    MODES = ('spatial', 'channel', 'spatial_channel')

    def __init__(self,
                 in_channels,
                 spatial_size=16,
                 mode='spatial_channel',
                 channel_ratio=8,
                 spatial_ratio=8,
                 down_ratio=8,
                 norm_cfg=dict(type='BN')):
        super().__init__()
        check_positive_int('in_channels', in_channels)
        self.spatial_size = _pair_of_positive_ints('spatial_size',
                                                   spatial_size)
        check_choice('mode', mode, self.MODES)
        for name, value in (('channel_ratio', channel_ratio),
                            ('spatial_ratio', spatial_ratio),
                            ('down_ratio', down_ratio)):
            check_positive_int(name, value)
        num_positions = self.spatial_size[0] * self.spatial_size[1]
        if channel_ratio > in_channels:
            raise ValueError(
                f'channel_ratio must be <= in_channels ({in_channels}), got '
                f'{channel_ratio!r}')
        if spatial_ratio > num_positions:
            raise ValueError(
                f'spatial_ratio must be <= the number of positions of '
                f'spatial_size ({num_positions}), got {spatial_ratio!r}')
        self.in_channels = in_channels
        self.mode = mode
        self.num_positions = num_positions
        hidden_channels = max(1, in_channels // channel_ratio)
        inter_positions = max(1, num_positions // spatial_ratio)

        def conv(cin, cout, act=True):
            return ConvModule(cin, cout, 1, norm_cfg=norm_cfg,
                              act_cfg=dict(type='ReLU') if act else None)

        def gate(cin):
            hidden = max(1, cin // down_ratio)
            return nn.Sequential(conv(cin, hidden), conv(hidden, 1, False))

        self.use_spatial = mode in ('spatial', 'spatial_channel')
        self.use_channel = mode in ('channel', 'spatial_channel')
        if self.use_spatial:
            self.theta_s = conv(in_channels, hidden_channels)
            self.phi_s = conv(in_channels, hidden_channels)
            self.embed_s = conv(in_channels, hidden_channels)
            self.relation_s = conv(2 * num_positions, inter_positions)
            self.gate_s = gate(1 + inter_positions)
        if self.use_channel:
            self.theta_c = conv(num_positions, inter_positions)
            self.phi_c = conv(num_positions, inter_positions)
            self.embed_c = conv(num_positions, inter_positions)
            self.relation_c = conv(2 * in_channels, hidden_channels)
            self.gate_c = gate(1 + hidden_channels)

    @staticmethod
    def _relation_features(theta, phi):
        """[R(i, :), R(:, i)] for every node i: (N, 2 * nodes, nodes)."""
        relation = _relation_logits(theta, phi)  # (N, nodes, nodes)
        return torch.cat([relation.transpose(1, 2), relation], dim=1)

    def spatial_gate(self, x):
        """Sigmoid spatial weights (N, 1, H, W) of x."""
        n = x.size(0)
        h, w = self.spatial_size
        pooled = adaptive_avg_pool(x, self.spatial_size)
        theta = self.theta_s(pooled).flatten(2)  # (N, C', P)
        phi = self.phi_s(pooled).flatten(2)
        relations = self._relation_features(theta, phi).view(
            n, 2 * h * w, h, w)  # explicit sizes: N may be 0
        y = torch.cat([self.embed_s(pooled).mean(dim=1, keepdim=True),
                       self.relation_s(relations)], dim=1)
        logits = self.gate_s(y)  # (N, 1, h, w)
        return resize_bilinear(logits.sigmoid(), x.shape[2:])

    def channel_gate(self, x):
        """Sigmoid channel weights (N, C, 1, 1) of x."""
        pooled = adaptive_avg_pool(x, self.spatial_size)
        # positions become conv channels, channels become nodes: (N, P, C, 1)
        nodes = pooled.flatten(2).transpose(1, 2).unsqueeze(-1)
        theta = self.theta_c(nodes).squeeze(-1)  # (N, P', C)
        phi = self.phi_c(nodes).squeeze(-1)
        relations = self._relation_features(theta, phi).unsqueeze(-1)
        y = torch.cat([self.embed_c(nodes).mean(dim=1, keepdim=True),
                       self.relation_c(relations)], dim=1)
        logits = self.gate_c(y)  # (N, 1, C, 1)
        return logits.transpose(1, 2).sigmoid()

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        if self.use_spatial:
            x = x * self.spatial_gate(x).to(x.dtype)
        if self.use_channel:
            x = x * self.channel_gate(x).to(x.dtype)
        return x
