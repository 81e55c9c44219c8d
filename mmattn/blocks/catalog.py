"""What mmattn offers as plugins and conv layers, read off the block classes.

A block says how OpenMMLab may use it through class attributes; no other list
is kept by hand. :func:`registered_blocks` finds every class exported by
:mod:`mmattn.blocks` that has a ``role``; :mod:`mmattn.models.plugins`
registers them, and the plugin test matrix, the generic checks (ONNX,
determinism, autocast, initialisation) and the benchmark's plugin variants
iterate over them.

Class attributes of a block:

- ``role`` (required to be registered): ``'plugin'``, a shape-preserving
  block taking ``in_channels`` first (ResNet ``plugins=``,
  ``AttentionNeck``, ``BackboneWithBlocks``), or ``'conv'``, a replacement of
  a 3x3 convolution (ResNet ``dcn=``; with equal widths and stride 1 it also
  works as a plugin).
- ``label``: its short name in tables. Defaults to the class name.
- ``plugin_cfg``: keyword arguments for its use as a plugin inside a
  backbone, where they differ from the constructor's defaults (e.g. GC's
  ratio of 1/16 in a ResNet against 1/4 in a head). Defaults to ``{}``.
- ``picture``: how :mod:`mmattn.visualization` draws its attention, the
  name of a drawer (``'channel_gate'``, ``'spatial_gate'``, ``'non_local'``...;
  see ``DRAWERS`` there). Blocks without one are not drawn.
- ``small_cfg``: overrides that keep tests small at widths 64 to 2048 and on
  maps down to 2x2. Defaults to ``{}``.
- ``identity_init``: for a plugin of the form ``x + f(x)``, the keyword
  arguments (on top of ``plugin_cfg``) under which ``f`` outputs exactly
  zero at init, so that inserting the block leaves a pretrained network's
  outputs unchanged bit for bit (``{}``: by default). None (the default):
  the mechanism has no such start (a gate multiplies its input, a fusion
  mixes it), and inserting it changes the network at step 0
  (``tools/analysis_tools/insertion_at_init.py`` measures by how much).

This module needs only Python: it is the blocks layer's own index.
"""
import inspect

#: The roles a block can declare.
ROLES = ('plugin', 'conv')


def check_declaration(cls):
    """Raise TypeError naming ``cls`` when its catalog attributes are wrong.

    Args:
        cls (type): a block class with a ``role`` attribute.
    """
    name = cls.__name__
    if cls.role not in ROLES:
        raise TypeError(f'{name}.role must be one of {ROLES}, got '
                        f'{cls.role!r}')
    for attr in ('plugin_cfg', 'small_cfg'):
        value = getattr(cls, attr, {})
        if not isinstance(value, dict):
            raise TypeError(f'{name}.{attr} must be a dict, got {value!r}')
    identity = getattr(cls, 'identity_init', None)
    if identity is not None and (not isinstance(identity, dict)
                                 or cls.role != 'plugin'):
        raise TypeError(f'{name}.identity_init must be None or, for a '
                        f'plugin, a dict, got {identity!r}')
    label = label_of(cls)
    if not isinstance(label, str) or not label:
        raise TypeError(f'{name}.label must be a non-empty str, got '
                        f'{label!r}')
    params = list(inspect.signature(cls.__init__).parameters)
    if params[1:2] != ['in_channels']:
        raise TypeError(f'{name}.__init__ must take in_channels first (mmcv '
                        f'passes it to plugins), got {params[1:]}')


def blocks_in(namespace, role=None):
    """The block classes of ``namespace`` that declare a role, in its order.

    Args:
        namespace (dict | module): e.g. ``vars(mmattn.blocks)``.
        role (str, optional): only blocks of this role.

    Returns:
        list[type]: each class once, validated by :func:`check_declaration`.
    """
    if not isinstance(namespace, dict):
        namespace = vars(namespace)
    if role is not None and role not in ROLES:
        raise ValueError(f'role must be one of {ROLES} or None, got '
                         f'{role!r}')
    found = []
    for obj in namespace.values():
        if (inspect.isclass(obj) and 'role' in vars(obj)
                and obj not in found):
            check_declaration(obj)
            if role is None or obj.role == role:
                found.append(obj)
    return found


def registered_blocks(role=None):
    """The blocks :mod:`mmattn.blocks` exports with a role (see the module
    doc); ``role`` picks ``'plugin'`` or ``'conv'`` only."""
    from mmattn import blocks
    return blocks_in(blocks, role)


def label_of(cls):
    """The short name of ``cls`` in tables."""
    return getattr(cls, 'label', cls.__name__)


def plugin_kwargs(cls, small=False, identity=False):
    """Keyword arguments (besides ``in_channels``) for ``cls`` as a plugin:
    its ``plugin_cfg``, with ``small_cfg`` on top when ``small`` and its
    ``identity_init`` on top when ``identity`` (a ValueError names a block
    that has none)."""
    kwargs = dict(getattr(cls, 'plugin_cfg', {}))
    if small:
        kwargs.update(getattr(cls, 'small_cfg', {}))
    if identity:
        start = getattr(cls, 'identity_init', None)
        if start is None:
            raise ValueError(f'{cls.__name__} has no identity start '
                             f'(identity_init is None)')
        kwargs.update(start)
    return kwargs
