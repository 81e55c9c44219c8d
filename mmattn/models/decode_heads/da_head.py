"""DAHead: mmseg's DANet head with mmattn's position and channel attention."""
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.da_head import DAHead as _MMSegDAHead
from mmseg.models.decode_heads.decode_head import BaseDecodeHead

from ...blocks import ChannelAttention, PositionAttention
from ...registry import MODELS
from .checked_inputs import CheckedInputsMixin


@MODELS.register_module()
class DAHead(CheckedInputsMixin, _MMSegDAHead):
    """Dual Attention Network head (DANet), reached as ``mmattn.DAHead``.

    mmseg 1.2.2's ``DAHead`` with its ``pam`` and ``cam`` modules replaced by
    :class:`~mmattn.blocks.PositionAttention` and
    :class:`~mmattn.blocks.ChannelAttention`; everything else (convs,
    classifiers, ``forward``, ``predict``, ``loss_by_feat``) is mmseg's. So it
    is a drop-in: same arguments, same state-dict keys (an mmseg DAHead
    checkpoint loads strictly), same outputs, the ``(pam_cam, pam, cam)``
    logits in training and losses named ``pam_cam.*``, ``pam.*``, ``cam.*``.
    What differs: the attention maps are computed in float32 with autocast
    off (mmseg's CAM gives NaN under fp16 autocast on large maps) and PAM's
    P x P attention is not held in memory on CPU.

    Args:
        pam_channels (int): key/query width of the position attention.
        cam_form (str): ``'danet'`` (mmseg's and the authors' softmax(-E),
            default) or ``'paper'`` (softmax(E)); see
            :class:`~mmattn.blocks.ChannelAttention`.
        **kwargs: the arguments of mmseg's ``BaseDecodeHead``
            (``in_channels``, ``channels``, ``num_classes``, ...).

    Shapes: inputs as any mmseg head (a tuple of multi-level features);
    ``forward`` returns three logits (N, num_classes, H, W) at the selected
    level's size; ``predict`` uses the first (``pam_cam``).
    """

    def __init__(self, pam_channels, cam_form='danet', **kwargs):
        # mmseg's DAHead.__init__ would build its own PAM and CAM first (and
        # draw their random weights), so one seed would not give mmseg's
        # weights: the head is built here, module by module in mmseg's
        # order, with the same attribute names (so the same state-dict keys).
        BaseDecodeHead.__init__(self, **kwargs)
        self.pam_channels = pam_channels
        self.pam_in_conv = self._conv(self.in_channels)
        self.pam = PositionAttention(self.channels, pam_channels)
        self.pam_out_conv = self._conv(self.channels)
        self.pam_conv_seg = nn.Conv2d(self.channels, self.num_classes, 1)
        self.cam_in_conv = self._conv(self.in_channels)
        self.cam = ChannelAttention(self.channels, form=cam_form)
        self.cam_out_conv = self._conv(self.channels)
        self.cam_conv_seg = nn.Conv2d(self.channels, self.num_classes, 1)

    def _conv(self, in_channels):
        return ConvModule(in_channels, self.channels, 3, padding=1,
                          conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                          act_cfg=self.act_cfg)
