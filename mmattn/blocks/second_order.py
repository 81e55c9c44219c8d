"""Global second-order pooling (GSoP), channel mode.

Paper: "Global Second-order Pooling Convolutional Networks", Z. Gao, J. Xie,
Q. Wang, P. Li, CVPR 2019 (arXiv:1811.12006). Reference code:
ZilinGao/Global-Second-order-Pooling-Convolutional-Networks (GSoP-Net1,
``attention='1'``).
"""
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, build_norm_layer

from ..checks import check_input, check_positive_int, renamed_arguments


def channel_covariance(x):
    """Biased covariance of the channels over the positions, in float32.

    ``(N, d, H, W) -> (N, d, d)``, Sigma = (1/M) * Xc @ Xc^T with M = H * W
    and Xc = X minus its per-channel mean. This is the paper's
    (1/M) * X (I - 11^T / M) X^T without the M x M centring matrix (the
    reference builds it). Sums of M products overflow fp16 and lose most
    digits in bf16, so autocast is off and the product is float32; the result
    is returned in x's dtype.
    """
    with torch.autocast(device_type=x.device.type, enabled=False):
        flat = x.float().flatten(2)
        centred = flat - flat.mean(dim=2, keepdim=True)
        cov = centred @ centred.transpose(1, 2) / flat.size(2)
    return cov.to(x.dtype)


class GlobalSecondOrderPooling(nn.Module):
    """GSoP channel attention; keeps the input shape.

    a = sigmoid(fc(row_conv(row_norm(Sigma(reduce(relu(x))))))), out = x * a:

    - ``reduce``: 1x1 conv C -> d, BN, ReLU (the input is ReLU'd first, as
      the reference does, since the block sits after the last BN of a
      bottleneck, before the residual add);
    - Sigma: the d x d channel covariance over the H * W positions
      (:func:`channel_covariance`, float32);
    - ``row_norm``: BN over the rows of Sigma (Sigma viewed as (N, d, d, 1):
      row i is normalised with its own statistics over the batch and the d
      columns);
    - ``row_conv``: row-wise conv, a grouped conv with d groups, kernel
      (d, 1), d -> expansion * d channels with bias: each row of Sigma
      becomes ``expansion`` numbers;
    - ``fc``: 1x1 conv expansion * d -> C with bias, then sigmoid.

    Args:
        in_channels (int): channels C of the input.
        hidden_channels (int, optional): d, the width at which the
            covariance is taken, 1 <= d <= C. None (default) gives the
            paper's 128, or C when C < 128 (so the block also fits
            64-channel positions). Formerly ``cov_channels`` (deprecated
            name, accepted with a warning).
        expansion (int): outputs per row of the row-wise conv. Defaults to
            4 (the paper's).
        norm_cfg (dict): norm of ``reduce`` and ``row_norm`` (mmcv config).
            Defaults to BN.

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); any H, W >= 1 (H * W = 1
        gives Sigma = 0).

    Init: ``ConvModule``'s for ``reduce``, PyTorch's default for the rest;
    the gate starts around 0.5 rather than at 1: the paper does not start
    as the identity and a sigmoid gate can only approach it.

    Deviations: ``reduce`` has no conv bias (a bias before BN is cancelled by
    it; the reference keeps one); the reference's stride-2 ``reduce`` in
    ResNet stage 1 (fewer positions for the covariance) is not reproduced.

    State-dict keys: ``reduce.conv.weight``, ``reduce.bn.*``,
    ``row_norm.*``, ``row_conv.*``, ``fc.*``.
    """

    role = 'plugin'  # see mmattn.blocks.catalog
    label = 'GSoP'
    small_cfg = dict(hidden_channels=16)

    _abbr_ = 'gsop'

    @renamed_arguments(cov_channels='hidden_channels')
    def __init__(self,
                 in_channels,
                 hidden_channels=None,
                 expansion=4,
                 norm_cfg=dict(type='BN')):
        super().__init__()
        check_positive_int('in_channels', in_channels)
        check_positive_int('hidden_channels', hidden_channels,
                           allow_none=True)
        check_positive_int('expansion', expansion)
        if hidden_channels is None:
            hidden_channels = min(128, in_channels)
        elif hidden_channels > in_channels:
            raise ValueError(
                f'hidden_channels must be <= in_channels ({in_channels}), got '
                f'{hidden_channels!r}')
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.expansion = expansion

        self.reduce = ConvModule(in_channels, hidden_channels, 1,
                                 norm_cfg=norm_cfg, act_cfg=dict(type='ReLU'))
        self.row_norm = build_norm_layer(norm_cfg, hidden_channels)[1]
        self.row_conv = nn.Conv2d(
            hidden_channels, expansion * hidden_channels,
            (hidden_channels, 1), groups=hidden_channels)
        self.fc = nn.Conv2d(expansion * hidden_channels, in_channels, 1)

    def gate(self, x):
        """Sigmoid channel weights (N, C, 1, 1) of x."""
        cov = channel_covariance(self.reduce(x.relu()))
        y = self.row_norm(cov.unsqueeze(-1))  # (N, d, d, 1): rows as channels
        return self.fc(self.row_conv(y)).sigmoid()

    def forward(self, x):
        check_input(x, self.in_channels, module=self)
        return x * self.gate(x).to(x.dtype)
