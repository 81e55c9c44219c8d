"""The one place that knows how mmattn names reach the OpenMMLab registries.

mmattn keeps its own registries, children of mmengine's root registries under the
scope ``mmattn``. A config of any scope (``mmseg``, ``mmdet``, ...) reaches an
mmattn module by its scoped name ``mmattn.<ClassName>``: mmengine resolves the
``mmattn.`` prefix by searching the root's children, so it works whether or not
mmattn is the default scope. Because the registries are siblings of mmseg's and
mmdet's, not parents, an mmattn class can never shadow an upstream name: an
unprefixed ``type='DAHead'`` in an mmseg config still builds mmseg's head.
"""
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import Registry
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS

#: Blocks, plugins, heads, necks, losses and conv layers.
MODELS = Registry(
    'model', parent=MMENGINE_MODELS, scope='mmattn',
    locations=['mmattn.models'])

#: Model wrappers (the CPU-capable distributed data-parallel wrapper).
MODEL_WRAPPERS = Registry(
    'model_wrapper', parent=MMENGINE_MODEL_WRAPPERS, scope='mmattn',
    locations=['mmattn.engine'])

#: Optimizer wrappers (bf16 autocast on CPU for ``--amp``).
OPTIM_WRAPPERS = Registry(
    'optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS, scope='mmattn',
    locations=['mmattn.engine'])

#: Training hooks (the SPEM auxiliary loss).
HOOKS = Registry(
    'hook', parent=MMENGINE_HOOKS, scope='mmattn',
    locations=['mmattn.engine'])

#: Data transforms (loaders that name bad data).
TRANSFORMS = Registry(
    'transform', parent=MMENGINE_TRANSFORMS, scope='mmattn',
    locations=['mmattn.datasets.checked_loading'])

#: Datasets (a COCO dataset that names bad annotations).
DATASETS = Registry(
    'dataset', parent=MMENGINE_DATASETS, scope='mmattn',
    locations=['mmattn.datasets.checked_loading'])
