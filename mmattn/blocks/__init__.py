"""Attention mechanisms as plain ``nn.Module`` s, one per file.

Every block takes ``(N, C, H, W)`` and says whether it keeps the shape. Blocks
import torch and, for their norm and activation layers, mmcv's builders
(``norm_cfg``/``act_cfg`` as in every OpenMMLab model); none imports mmseg,
mmdet or an mmengine registry, so they work in any PyTorch model where mmcv
is installed.

Adding a block: write ``mmattn/blocks/<mechanism>.py`` with a ``role``
attribute (see :mod:`mmattn.blocks.catalog`), import it here, and write
``tests/blocks/test_<mechanism>.py`` with a reference-formula test marked
``@pytest.mark.reference(blocks=[<Class>])``. docs/blocks.md ("Adding a
mechanism") has the recipe.
"""
# channel / spatial attention (backbone plugins)
from .bam import BottleneckAttention
from .cbam import CBAM, LightCBAM
from .coordinate import CoordinateAttention
from .double_attention import DoubleAttention
from .effective_se import EffectiveSqueezeExcitation
from .eca import (ECA_AUTHORS_KERNEL_SIZES, EfficientChannelAttention,
                  eca_kernel_size)
from .gather_excite import GatherExcite
from .interaction_aggregation import (ChannelInteractionUnit,
                                      InteractionAggregationUpdate,
                                      SpatialInteractionUnit)
from .multi_spectral import (FCANET_AUTHORS_DCT_SIZES,
                             MultiSpectralChannelAttention)
from .pyramid_attention import SpatialPyramidAttention
from .relation_aware import RelationAwareAttention
from .residual_attention import ResidualAttention
from .scse import SpatialChannelSqueezeExcitation
from .se import SqueezeExcitation
from .second_order import GlobalSecondOrderPooling
from .simam import SimAM
from .spe import SelfAdaptivePoolingAttention
from .triplet import TripletAttention, ZPoolGate
# convolution replacements (ResNet's dcn= slot)
from .bottleneck_transformer import BottleneckSelfAttentionConv
from .halo import HaloAttentionConv
from .lambda_layer import LambdaLayerConv
from .sasa import StandAloneSelfAttentionConv
from .selective_kernel import SelectiveKernelConv
from .split_attention import SplitAttentionConv
# global context
from .asym_non_local import (AsymmetricFusionNonLocal, AsymmetricNonLocal,
                             AsymmetricPyramidNonLocal, pyramid_sample)
from .bilinear_attention import (BilinearAttentionTransform,
                                 GroupedBilinearTransform)
from .channel import ChannelAttention
from .criss_cross import CrissCrossAttention
from .efficient_attention import EfficientAttention
from .external_attention import ExternalAttention
from .global_context import GlobalContext
from .non_local import NonLocal
from .object_context import ObjectContext, SpatialGather
from .position import PositionAttention
from .salient import SalientPositionAttention

from . import catalog  # noqa: E402

# Everything public that the block files above define; a new block needs its
# import line above and nothing else (registration: mmattn.blocks.catalog).
__all__ = [
    _name for _name, _obj in list(globals().items())
    if not _name.startswith('_') and _name != 'catalog'
    and getattr(_obj, '__module__', '').startswith(__name__ + '.')
] + ['catalog']
