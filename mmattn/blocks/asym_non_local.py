"""Asymmetric non-local blocks: AFNB and APNB.

Paper: "Asymmetric Non-local Neural Networks for Semantic Segmentation",
Z. Zhu, M. Xu, S. Bai, T. Huang, X. Bai, ICCV 2019 (arXiv:1908.07678).
Reference implementation matched here: mmseg 1.2.2's ``ANNHead``
(``mmseg/models/decode_heads/ann_head.py``: ``SelfAttentionBlock``, ``AFNB``,
``APNB``); the state-dict keys are the same.

Non-local attention with every query position attending to S pyramid-sampled
key positions instead of all P: adaptive average pools of the key map to
s x s for each pool scale s, concatenated (S = 1 + 9 + 36 + 64 = 110 with the
default scales). Cost O(P S) instead of O(P^2), whatever the input size.

The width of keys, queries and values is ``hidden_channels`` in the three
blocks (mmattn's vocabulary); their former name ``project_channels`` is still
accepted, with a ``DeprecationWarning``. :class:`~mmattn.ANNHead`, a drop-in
for mmseg's head, keeps mmseg's ``project_channels``.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule

from ..ops import dot_product_attention
from ..checks import (check_bool, check_input, check_positive_int,
                      check_scales, renamed_arguments)
from ..ops import adaptive_avg_pool, resize_bilinear


def pyramid_sample(x, pool_scales):
    """Adaptive average pools of x to s x s for each s, flattened and joined.

    (N, C, H, W) -> (N, C, S), S = sum(s * s): the sampled key positions of
    the asymmetric non-local blocks, in the order of ``pool_scales`` (mmseg's
    ``PPMConcat``). Maps smaller than s x s are pooled too (adaptive pooling
    repeats positions). The pools are products with pooling matrices (the
    shared ``adaptive_avg_pool``): deterministic on CUDA, unlike
    ``adaptive_avg_pool2d``'s backward.
    """
    return torch.cat(
        [adaptive_avg_pool(x, (scale, scale)).flatten(2)
         for scale in pool_scales],
        dim=2)


class AsymmetricNonLocal(nn.Module):
    """One asymmetric non-local attention: full-size queries, pooled keys.

    q = query_project(x_q) (1x1 ConvModule, with norm and activation),
    k = pyramid_sample(key_project(x_k)), v = value_project(pyramid_sample(
    x_k)) (a plain 1x1 conv commutes with average pooling, so the values are
    projected at the S sampled positions instead of all P); context =
    out_project(softmax(q k^T / sqrt(C_p)) v). It returns the context only:
    :class:`AsymmetricFusionNonLocal` and :class:`AsymmetricPyramidNonLocal`
    fuse it with their input.

    Args:
        in_channels (int): channels of the query input x_q.
        key_in_channels (int, optional): channels of the key input x_k.
            Defaults to ``in_channels``.
        hidden_channels (int): width C_p of queries, keys and values.
        out_channels (int): channels of the returned context.
        share_key_query (bool): one projection for keys and queries (APNB);
            needs ``key_in_channels == in_channels``. It is registered under
            both names, ``key_project`` and ``query_project``, as in mmseg.
        query_scale (int): max-pool the projected queries by this factor
            (``ceil_mode``, so every position is covered) and upsample the
            context bilinearly back to the query size. 1 (default) attends
            from every position. mmseg builds the pool for ``query_scale > 1``
            but never upsamples, so its forward fails there; this block
            completes it (no reference to compare with: tested against the
            formula).
        key_pool_scales (tuple[int]): output sizes of the pyramid pools.
            Defaults to (1, 3, 6, 8).
        conv_cfg, norm_cfg, act_cfg (dict, optional): of the key/query
            ConvModules (mmcv configs). Value and output projections are
            plain convs with bias, as in mmseg.

    Shapes:
        ``forward(query_feats, key_feats=None)``: (N, C_q, H, W) and
        (N, C_k, H_k, W_k) (default: the query map) -> (N, out_channels, H,
        W).

    Init: ``out_project`` zero (weight and bias), so the context starts at 0.
    """

    @renamed_arguments(project_channels='hidden_channels')
    def __init__(self,
                 in_channels,
                 key_in_channels=None,
                 hidden_channels=256,
                 out_channels=None,
                 share_key_query=False,
                 query_scale=1,
                 key_pool_scales=(1, 3, 6, 8),
                 conv_cfg=None,
                 norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU')):
        super().__init__()
        key_in_channels = (in_channels
                           if key_in_channels is None else key_in_channels)
        out_channels = in_channels if out_channels is None else out_channels
        check_positive_int('in_channels', in_channels)
        check_positive_int('key_in_channels', key_in_channels)
        check_positive_int('hidden_channels', hidden_channels)
        check_positive_int('out_channels', out_channels)
        check_positive_int('query_scale', query_scale)
        check_scales('key_pool_scales', key_pool_scales)
        if share_key_query and key_in_channels != in_channels:
            raise ValueError(
                f'share_key_query=True needs key_in_channels == in_channels '
                f'({in_channels}), got key_in_channels={key_in_channels!r}')
        self.in_channels = in_channels
        self.key_in_channels = key_in_channels
        self.hidden_channels = hidden_channels
        self.out_channels = out_channels
        check_bool('share_key_query', share_key_query)
        self.share_key_query = share_key_query
        self.query_scale = query_scale
        self.key_pool_scales = tuple(key_pool_scales)

        def embedding(in_ch):
            return ConvModule(in_ch, hidden_channels, 1, conv_cfg=conv_cfg,
                              norm_cfg=norm_cfg, act_cfg=act_cfg)

        self.key_project = embedding(key_in_channels)
        self.query_project = (self.key_project if share_key_query else
                              embedding(in_channels))
        self.value_project = nn.Conv2d(key_in_channels, hidden_channels, 1)
        self.out_project = nn.Conv2d(hidden_channels, out_channels, 1)
        self.init_weights()

    def init_weights(self):
        """Zero ``out_project`` (mmseg's init)."""
        nn.init.zeros_(self.out_project.weight)
        nn.init.zeros_(self.out_project.bias)

    def forward(self, query_feats, key_feats=None):
        check_input(query_feats, self.in_channels, 'query_feats', module=self)
        self_attention = key_feats is None or key_feats is query_feats
        key_feats = query_feats if key_feats is None else key_feats
        check_input(key_feats, self.key_in_channels, 'key_feats', module=self)
        if key_feats.size(0) != query_feats.size(0):
            raise ValueError(
                f'key_feats must have the batch size of query_feats '
                f'({query_feats.size(0)}), got {tuple(key_feats.shape)}')
        n, _, h, w = query_feats.shape
        key = self.key_project(key_feats)
        # APNB: one projection of one map serves as both keys and queries.
        # In training mmseg runs it twice, and with a norm layer the second
        # call is a second running-statistics update: keep it, so a model
        # trained with this block has the statistics mmseg's would have.
        query = (key if self.share_key_query and self_attention
                 and not self.training else self.query_project(query_feats))
        if self.query_scale > 1:
            query = F.max_pool2d(query, self.query_scale, ceil_mode=True)
        key = pyramid_sample(key, self.key_pool_scales)
        sampled = pyramid_sample(key_feats, self.key_pool_scales)
        value = self.value_project(sampled.unsqueeze(-1)).squeeze(-1)
        context = dot_product_attention(
            *(t.flatten(2).transpose(1, 2) for t in (query, key, value)),
            scale=self.hidden_channels**-0.5)
        context = context.transpose(1, 2).reshape(n, self.hidden_channels,
                                                  *query.shape[2:])
        if self.query_scale > 1:
            context = resize_bilinear(context, (h, w))
        return self.out_project(context)


def _build_stages(query_scales, **kwargs):
    check_scales('query_scales', query_scales)
    return nn.ModuleList(
        AsymmetricNonLocal(query_scale=scale, **kwargs)
        for scale in query_scales)


class AsymmetricFusionNonLocal(nn.Module):
    """Asymmetric Fusion Non-local Block (AFNB): high-level queries attend to
    pyramid-sampled low-level keys and values.

    context = sum over query scales of :class:`AsymmetricNonLocal` (queries
    from ``high_feats``, keys and values from ``low_feats``, separate
    projections); out = bottleneck([context; high_feats]), the bottleneck a
    1x1 ConvModule with norm and no activation. Not residual (mmseg and the
    paper): at init the context is 0 and out = bottleneck([0; high_feats]).

    Args:
        low_in_channels (int): channels of ``low_feats`` (keys, values; the
            paper's stage-4 features, 1024).
        high_in_channels (int): channels of ``high_feats`` (queries; stage
            5, 2048).
        out_channels (int, optional): output channels. Defaults to
            ``high_in_channels``.
        hidden_channels (int): width of keys, queries and values. Defaults
            to 256 (the paper's).
        query_scales (tuple[int]): one attention per scale, summed; see
            :class:`AsymmetricNonLocal` for scales > 1. Defaults to (1,).
        key_pool_scales (tuple[int]): pyramid pool sizes. Defaults to
            (1, 3, 6, 8).
        conv_cfg, norm_cfg, act_cfg (dict, optional): mmcv layer configs.

    Shapes:
        ``forward(low_feats, high_feats)``: (N, C_low, H_l, W_l) and
        (N, C_high, H, W) -> (N, out_channels, H, W); the two maps may differ
        in size.

    State-dict keys (mmseg's ``AFNB``): ``stages.<i>.{key,query}_project.*``,
    ``stages.<i>.{value,out}_project.*``, ``bottleneck.*``.
    """

    @renamed_arguments(project_channels='hidden_channels')
    def __init__(self,
                 low_in_channels,
                 high_in_channels,
                 out_channels=None,
                 hidden_channels=256,
                 query_scales=(1, ),
                 key_pool_scales=(1, 3, 6, 8),
                 conv_cfg=None,
                 norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU')):
        super().__init__()
        check_positive_int('low_in_channels', low_in_channels)
        check_positive_int('high_in_channels', high_in_channels)
        out_channels = (high_in_channels
                        if out_channels is None else out_channels)
        check_positive_int('out_channels', out_channels)
        self.low_in_channels = low_in_channels
        self.high_in_channels = high_in_channels
        self.out_channels = out_channels
        self.stages = _build_stages(
            query_scales, in_channels=high_in_channels,
            key_in_channels=low_in_channels,
            hidden_channels=hidden_channels, out_channels=out_channels,
            share_key_query=False, key_pool_scales=key_pool_scales,
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.bottleneck = ConvModule(
            out_channels + high_in_channels, out_channels, 1,
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)

    def init_weights(self):
        """Re-apply each stage's init (zero ``out_project``): mmengine calls
        ``init_weights`` only on children that have one, so the stages are
        reached through this."""
        for stage in self.stages:
            stage.init_weights()

    def forward(self, low_feats, high_feats):
        check_input(low_feats, self.low_in_channels, 'low_feats', module=self)
        check_input(high_feats, self.high_in_channels, 'high_feats',
                    module=self)
        if low_feats.size(0) != high_feats.size(0):
            raise ValueError(
                f'low_feats and high_feats must have one batch size, got '
                f'{tuple(low_feats.shape)} and {tuple(high_feats.shape)}')
        context = sum(stage(high_feats, low_feats) for stage in self.stages)
        return self.bottleneck(torch.cat([context, high_feats], dim=1))


class AsymmetricPyramidNonLocal(nn.Module):
    """Asymmetric Pyramid Non-local Block (APNB): self-attention of a map to
    its own pyramid samples; keeps the shape with the default
    ``out_channels``.

    context = sum over query scales of :class:`AsymmetricNonLocal` (keys and
    queries share one projection); out = bottleneck([context; x]), a 1x1
    ConvModule (2C -> out_channels) with norm and activation. Not residual
    (mmseg and the paper): at init the context is 0 and
    out = bottleneck([0; x]), not x.

    Args:
        in_channels (int): channels C of the input.
        hidden_channels (int, optional): width of keys, queries and values.
            Defaults to ``max(1, in_channels // 2)`` (the paper's 256 for
            512).
        out_channels (int, optional): output channels. Defaults to
            ``in_channels``. (mmseg feeds its out_channels to the attention
            too, which only works when they equal in_channels; here the
            context always has C channels.)
        query_scales (tuple[int]): as in :class:`AsymmetricFusionNonLocal`.
        key_pool_scales (tuple[int]): pyramid pool sizes. Defaults to
            (1, 3, 6, 8).
        conv_cfg, norm_cfg, act_cfg (dict, optional): mmcv layer configs.

    Shapes:
        input (N, C, H, W) -> output (N, out_channels, H, W).

    State-dict keys (mmseg's ``APNB``): ``stages.<i>.key_project.*`` (also
    as ``stages.<i>.query_project.*``: the same module),
    ``stages.<i>.{value,out}_project.*``, ``bottleneck.*``.
    """

    picture = 'pyramid_non_local'  # how mmattn.visualization draws it

    role = 'plugin'  # see mmattn.blocks.catalog
    label = 'APNB'
    small_cfg = dict(hidden_channels=16)

    _abbr_ = 'apnb'

    @renamed_arguments(project_channels='hidden_channels')
    def __init__(self,
                 in_channels,
                 hidden_channels=None,
                 out_channels=None,
                 query_scales=(1, ),
                 key_pool_scales=(1, 3, 6, 8),
                 conv_cfg=None,
                 norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU')):
        super().__init__()
        check_positive_int('in_channels', in_channels)
        if hidden_channels is None:
            hidden_channels = max(1, in_channels // 2)
        out_channels = in_channels if out_channels is None else out_channels
        check_positive_int('out_channels', out_channels)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stages = _build_stages(
            query_scales, in_channels=in_channels,
            hidden_channels=hidden_channels, out_channels=in_channels,
            share_key_query=True, key_pool_scales=key_pool_scales,
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.bottleneck = ConvModule(
            2 * in_channels, out_channels, 1, conv_cfg=conv_cfg,
            norm_cfg=norm_cfg, act_cfg=act_cfg)

    def init_weights(self):
        """Re-apply each stage's init (zero ``out_project``): mmengine calls
        ``init_weights`` only on children that have one, so the stages are
        reached through this."""
        for stage in self.stages:
            stage.init_weights()

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        context = sum(stage(x) for stage in self.stages)
        out = self.bottleneck(torch.cat([context, x], dim=1))
        if out.requires_grad:
            # The ReLU ending the bottleneck saves its output for the
            # backward; a ResNet Bottleneck adds the shortcut to a plugin's
            # output in place, which would overwrite it (an autograd error).
            out = out.clone()
        return out
