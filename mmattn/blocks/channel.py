"""DANet channel attention module (CAM).

Paper: "Dual Attention Network for Scene Segmentation", J. Fu, J. Liu,
H. Tian, Y. Li, Y. Bao, Z. Fang, H. Lu, CVPR 2019 (arXiv:1809.02983).
Reference code: junfu1115/DANet; mmseg ``mmseg.models.decode_heads.da_head``.

Channels attend to channels: each channel map, flattened to a vector of P
positions, is a token. Not to be confused with mmdet's (unregistered)
``ChannelAttention`` layer, an SE-like gate.
"""
import torch.nn as nn
from mmcv.cnn import Scale

from ..ops import dot_product_attention
from ..ops.attention import IMPLEMENTATIONS
from ..checks import check_choice, check_input, check_positive_int

#: Sign of the energies inside the softmax for each ``form``.
_ENERGY_SIGN = {'danet': -1.0, 'paper': 1.0}


class ChannelAttention(nn.Module):
    """DANet channel attention; keeps the input shape.

    For x of shape (N, C, H, W), X is x viewed as (N, C, P), P = H*W, and
    E = X X^T (C x C, unscaled). With A the attention over channels,
    out = gamma * (A X) + x, where gamma is a learnable scalar that starts at
    0, so the block starts as the identity. No other parameters.

    ``form`` chooses A:

    - ``'danet'`` (default): A = softmax(rowmax(E) - E), what the authors'
      code and mmseg compute. Since softmax is invariant to a per-row
      constant, this is exactly softmax(-E): a channel attends most to the
      channels *least* similar to it. It is not a stability trick; it
      reverses the paper's attention. Kept for parity with trained models;
      computed here as softmax(-E), which is the same function.
    - ``'paper'``: A = softmax(E), the paper's Eq. (3).

    A drop-in for mmseg 1.2.2's ``CAM`` (``form='danet'``): its state dict
    (``gamma.scale``) loads with ``strict=True``.

    Args:
        in_channels (int): channels C of the input. CAM has no convolutions,
            so this only fixes the channels it accepts (the plugin contract
            passes it; a mismatching input is refused).
        form (str): ``'danet'`` or ``'paper'``, see above. Defaults to
            ``'danet'``.
        impl (str): back end of :func:`mmattn.ops.dot_product_attention`
            (``'auto'``, ``'sdpa'``, ``'chunked'``, ``'reference'``); all
            compute the same function. Defaults to ``'auto'``.

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1.

    Precision: E sums P products of the features, so it passes fp16's 65504
    already for features of magnitude ~4 on a 64 x 64 map, and mmseg's
    rowmax(E) - E then gives inf - inf = NaN. The op computes E and the
    softmax in float32 with autocast off, so fp16/bf16 autocast stays finite.
    """

    picture = 'channel'  # how mmattn.visualization draws it

    role = 'plugin'  # see mmattn.blocks.catalog
    identity_init = {}  # starts as the identity: see catalog
    label = 'CAM'

    _abbr_ = 'cam'

    def __init__(self, in_channels, form='danet', impl='auto'):
        super().__init__()
        check_positive_int('in_channels', in_channels)
        check_choice('form', form, tuple(_ENERGY_SIGN))
        self.in_channels = in_channels
        self.form = form
        check_choice('impl', impl, IMPLEMENTATIONS)
        self.impl = impl
        self.gamma = Scale(0.)

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        tokens = x.flatten(2)  # (N, C, P): one token per channel
        context = dot_product_attention(
            tokens, tokens, tokens, scale=_ENERGY_SIGN[self.form],
            impl=self.impl)
        return x + self.gamma(context.view_as(x))  # x first: keeps its layout
