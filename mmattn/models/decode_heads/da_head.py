"""DAHead: mmseg's DANet head with mmattn's position and channel attention."""
from mmseg.models.decode_heads.da_head import DAHead as _MMSegDAHead

from ...blocks import ChannelAttention, PositionAttention
from ...registry import MODELS


@MODELS.register_module()
class DAHead(_MMSegDAHead):
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
        super().__init__(pam_channels, **kwargs)
        # Same attribute names as mmseg's, so state-dict keys are unchanged.
        self.pam = PositionAttention(self.channels, pam_channels)
        self.cam = ChannelAttention(self.channels, form=cam_form)
