"""Interaction-aggregation-update (IAU): channel and spatial units.

Paper: "IAUnet: Global Context-Aware Feature Learning for Person
Re-Identification", R. Hou, B. Ma, H. Chang, X. Gu, S. Shan, X. Chen, IEEE
TNNLS 2020 (arXiv:2009.01035). Reference code: blue-blue272/ImgReID-IAnet
(``models/IAU.py``, ``models/SIAU.py``).

Each unit ends in a conv + BN whose weight and bias start at 0 and is added
to its input, so every unit (and the IAU made of both) is exactly the
identity at step 0, as in the reference.
"""
import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer

from ..ops import dot_product_attention
from ..checks import check_input, check_positive_int
from .layers import refuse_single_sample_batch_norm, zero_last_layer


def _conv_norm(in_channels, out_channels, norm_cfg):
    """1x1 conv with bias, then a norm: the reference keeps the bias (it
    matters in eval mode)."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1),
                         build_norm_layer(norm_cfg, out_channels)[1])


class ChannelInteractionUnit(nn.Module):
    """CIAU: channels aggregated by their pairwise similarity; keeps the
    input shape.

    With X the (C, H * W) matrix of x: F = softmax_rows(X X^T) (C x C, no
    projection, no scaling), Y = F X, out = x + BN(conv1x1(Y)). The C x C
    affinity and the product F X are float32 with autocast off (the logits
    are sums of H * W products of unbounded features).

    Args:
        in_channels (int): channels C of the input.
        norm_cfg (dict): norm after the update conv (mmcv config). Defaults
            to BN.

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1.

    Init: the update norm's weight and bias are 0, so the unit is the
    identity at step 0 (the reference's init); :meth:`init_weights`
    re-applies it after a backbone's ``init_cfg`` (which sets every BN weight
    to 1). The conv keeps PyTorch's default init.

    State-dict keys: ``update.0.*`` (conv), ``update.1.*`` (norm), the
    reference's ``W1``.
    """

    role = 'plugin'  # see mmattn.blocks.catalog
    identity_init = {}  # starts as the identity: see catalog
    label = 'CIAU'

    _abbr_ = 'ciau'

    def __init__(self, in_channels, norm_cfg=dict(type='BN')):
        super().__init__()
        check_positive_int('in_channels', in_channels)
        self.in_channels = in_channels
        self.update = _conv_norm(in_channels, in_channels, norm_cfg)
        self.init_weights()

    def init_weights(self):
        """Zero the update norm: the unit starts as the identity."""
        zero_last_layer(self.update)

    def aggregate(self, x):
        """Y = softmax(X X^T) X, (N, C, H, W) in x's dtype: the shared
        attention op over the C channels as tokens (float32 logits under
        autocast), as DANet's channel attention in its paper form."""
        flat = x.flatten(2)
        return dot_product_attention(flat, flat, flat, scale=1.0).view_as(x)

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        return x + self.update(self.aggregate(x))


class SpatialInteractionUnit(nn.Module):
    """SIAU: part features exchanged over a learned graph; keeps the input
    shape.

    For z (N, C, H, W): u = GAP(z) (the global node); K part maps
    a = sigmoid(BN(conv1x1 C -> K (z))); part features p_k = sum over
    positions of a_k * z (K x C, sums, not means, as the reference); a shared
    1x1 conv g (C -> C', bias) maps the parts and u to C'. Edges
    W_ij = softmax_j(BN(conv[|p_i - p_j|; u])) over j != i (the diagonal is
    masked with -inf; the logits are symmetric in i, j); messages
    s_i = ReLU(BN(conv1x1 [p_i; sum_j W_ij p_j] -> C')); out = z +
    BN(conv1x1 [mean_i s_i; u] -> C), broadcast over H x W.

    The reference returns ``(z, part_maps)``; a plugin returns one tensor,
    so :meth:`forward` returns z and :meth:`part_maps` gives a.

    Args:
        in_channels (int): channels C of the input, >= 2.
        num_parts (int): K, >= 2 (each part needs a neighbour). Defaults to
            4.
        reduction (int): C' = C // reduction. Defaults to 2.
        norm_cfg (dict): norm of every conv (mmcv config). Defaults to BN.

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1. The update
        norm sees a (N, C, 1, 1) map, so BN in training needs N >= 2 (a
        SyncBN across devices, or a GN ``norm_cfg``, lifts that).

    Init: the update norm's weight and bias are 0 (identity at step 0,
    re-applied by :meth:`init_weights`); PyTorch's default elsewhere.

    The edge conv's bias and the edge norm's bias add one constant to every
    logit of a softmax, so their gradients are always 0; they are kept for
    parity with the reference (and are in the graph, so DDP sees them used).

    State-dict keys: ``part_attention`` (the reference's ``sa.conv``),
    ``reduce`` (``g``), ``edge`` (``SIAU.module_w.relation``), ``message``
    (``SIAU.module_l.fsm``), ``update`` (``W2``), each ``.0`` conv and
    ``.1`` norm.
    """

    role = 'plugin'  # see mmattn.blocks.catalog
    identity_init = {}  # starts as the identity: see catalog
    label = 'SIAU'

    _abbr_ = 'siau'

    def __init__(self, in_channels, num_parts=4, reduction=2,
                 norm_cfg=dict(type='BN')):
        super().__init__()
        check_positive_int('in_channels', in_channels)
        check_positive_int('num_parts', num_parts)
        check_positive_int('reduction', reduction)
        if num_parts < 2:
            raise ValueError(f'num_parts must be >= 2, got {num_parts!r}')
        if reduction > in_channels:
            raise ValueError(
                f'reduction must be <= in_channels ({in_channels}), got '
                f'{reduction!r}')
        self.in_channels = in_channels
        self.num_parts = num_parts
        self.hidden_channels = in_channels // reduction
        inter = self.hidden_channels
        self.part_attention = _conv_norm(in_channels, num_parts, norm_cfg)
        self.reduce = nn.Conv2d(in_channels, inter, 1)
        self.edge = _conv_norm(2 * inter, 1, norm_cfg)
        self.message = _conv_norm(2 * inter, inter, norm_cfg)
        self.update = _conv_norm(2 * inter, in_channels, norm_cfg)
        self.register_buffer('self_loops',
                             torch.eye(num_parts, dtype=torch.bool),
                             persistent=False)
        self.init_weights()

    def init_weights(self):
        """Zero the update norm: the unit starts as the identity."""
        zero_last_layer(self.update)

    def part_maps(self, z):
        """Sigmoid part maps a, (N, K, H, W)."""
        return self.part_attention(z).sigmoid()

    def forward(self, z):
        check_input(z, self.in_channels, module=self)
        refuse_single_sample_batch_norm(self.update[1], z, 'norm_cfg')
        k = self.num_parts
        attention = self.part_maps(z)
        # sums over H * W products: float32 with autocast off, as a Gram
        with torch.autocast(device_type=z.device.type, enabled=False):
            flat = z.flatten(2).float()
            parts = attention.flatten(2).float() @ flat.transpose(1, 2)
        parts = parts.to(z.dtype)  # (N, K, C)
        # g is shared by the parts and the global node: one call on both
        nodes = torch.cat([parts, z.mean(dim=(2, 3)).unsqueeze(1)], dim=1)
        nodes = self.reduce(nodes.transpose(1, 2).unsqueeze(-1)).squeeze(-1)
        # parts (N, C', K), global node (N, C', 1)
        parts, node = nodes[:, :, :k], nodes[:, :, k:]

        # the edge logits are softmax attention logits: float32, autocast off
        with torch.autocast(device_type=z.device.type, enabled=False):
            parts32 = parts.float()
            distance = (parts32.unsqueeze(3) - parts32.unsqueeze(2)).abs()
            edges = torch.cat(
                [distance, node.float().unsqueeze(-1).expand_as(distance)],
                dim=1)
            # (N, K, K), [i, j]; in the conv's dtype for a .half() model
            logits = self.edge(edges.to(self.edge[0].weight.dtype))
            weights = torch.softmax(logits.squeeze(1).float().masked_fill(
                self.self_loops, float('-inf')), dim=-1)
        neighbours = parts @ weights.to(parts.dtype).transpose(1, 2)
        messages = self.message(
            torch.cat([parts, neighbours], dim=1).unsqueeze(-1)).relu()
        summary = torch.cat([messages.mean(dim=2, keepdim=True),
                             node.unsqueeze(-1)], dim=1)
        return z + self.update(summary)


class InteractionAggregationUpdate(nn.Module):
    """IAU: :class:`ChannelInteractionUnit`, then
    :class:`SpatialInteractionUnit`, as the reference's ``IAU`` module; keeps
    the input shape and starts as the identity.

    Args:
        in_channels (int): channels C of the input, >= 2.
        num_parts (int): SIAU parts K. Defaults to 4.
        reduction (int): SIAU reduction. Defaults to 2.
        norm_cfg (dict): norm of every conv. Defaults to BN.

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1 (training
        with BN needs N >= 2, see :class:`SpatialInteractionUnit`).

    State-dict keys: ``channel.*``, ``spatial.*``.
    """

    role = 'plugin'  # see mmattn.blocks.catalog
    identity_init = {}  # starts as the identity: see catalog
    label = 'IAU'

    _abbr_ = 'iau'

    def __init__(self, in_channels, num_parts=4, reduction=2,
                 norm_cfg=dict(type='BN')):
        super().__init__()
        self.channel = ChannelInteractionUnit(in_channels, norm_cfg)
        self.spatial = SpatialInteractionUnit(in_channels, num_parts,
                                              reduction, norm_cfg)
        self.in_channels = in_channels

    def init_weights(self):
        """Zero both update norms (mmengine calls a child's
        ``init_weights`` only one level down)."""
        self.channel.init_weights()
        self.spatial.init_weights()

    def forward(self, x):
        return self.spatial(self.channel(x))
