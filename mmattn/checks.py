"""Argument checks shared by every layer of mmattn (ops, blocks, heads).

Each check raises a ``ValueError`` (``TypeError`` for a flag that is not a
bool) whose message names the argument, what was expected and what was
given, at construction time, instead of an error from deep inside torch at
the first forward. Pure Python: nothing here imports torch or OpenMMLab at
import time (:func:`check_input` asks torch about autocast when it must).
"""
import functools
import numbers
import warnings

__all__ = [
    'ValueAssertionError', 'TypeAssertionError', 'check_bool', 'check_choice', 'check_groups', 'check_input',
    'check_non_negative_int',
    'check_odd_kernel', 'check_positive_int', 'check_real',
    'check_same_padding', 'check_scales', 'renamed_arguments'
]


def _is_int(value):
    # bool is an int subclass: True is not a width of 1
    return isinstance(value, int) and not isinstance(value, bool)


def check_positive_int(name, value, allow_none=False):
    """Raise ValueError unless ``value`` is an int > 0 (bools refused)."""
    if allow_none and value is None:
        return
    if not _is_int(value) or value <= 0:
        raise ValueError(
            f'{name} must be a positive int{" or None" if allow_none else ""}'
            f', got {value!r}')


def check_non_negative_int(name, value):
    """Raise ValueError unless ``value`` is an int >= 0 (bools refused)."""
    if not _is_int(value) or value < 0:
        raise ValueError(f'{name} must be a non-negative int, got {value!r}')


def check_odd_kernel(name, value, allow_none=False):
    """Raise ValueError unless ``value`` is a positive odd int.

    An odd kernel with padding ``(k - 1) // 2`` keeps the length, which is
    what a shape-preserving gate needs.
    """
    if allow_none and value is None:
        return
    if not _is_int(value) or value <= 0 or value % 2 == 0:
        raise ValueError(
            f'{name} must be a positive odd int'
            f'{" or None" if allow_none else ""}, got {value!r}')


def check_groups(groups, **widths):
    """Raise ValueError unless ``groups`` divides each of ``widths`` (name
    -> channel count), naming the first width it does not divide."""
    for name, channels in widths.items():
        if channels % groups:
            raise ValueError(f'groups must divide {name} ({channels}), got '
                             f'{groups!r}')


def check_same_padding(padding, kernel_size, dilation, why):
    """Raise ValueError unless ``padding`` (of a conv replacement, given by
    ``build_conv_layer``) is None or the size-keeping
    ``dilation * (kernel_size - 1) // 2``; ``why`` says why in the message
    (e.g. ``'the layer keeps H x W before the stride'``)."""
    same = dilation * (kernel_size - 1) // 2
    if padding is not None and (isinstance(padding, bool) or padding != same):
        raise ValueError(
            f'padding must be None or dilation * (kernel_size - 1) // 2 '
            f'= {same} ({why}), got {padding!r}')


def check_real(name, value, positive=False):
    """Raise ValueError unless ``value`` is a finite real number (and > 0
    with ``positive``)."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or value != value or abs(value) == float('inf')
            or (positive and value <= 0)):
        raise ValueError(
            f'{name} must be a {"positive " if positive else ""}finite '
            f'number, got {value!r}')


def check_scales(name, scales):
    """Raise ValueError unless ``scales`` is a non-empty tuple/list of
    positive ints (pyramid sizes, query scales)."""
    if not isinstance(scales, (tuple, list)) or not scales:
        raise ValueError(
            f'{name} must be a non-empty tuple of positive ints, got '
            f'{scales!r}')
    for scale in scales:
        check_positive_int(f'every entry of {name}', scale)


class ValueAssertionError(ValueError, AssertionError):
    """A bad argument of a drop-in whose upstream class checks it with
    ``assert``: catchable as ``ValueError`` (mmattn's convention) and as
    ``AssertionError`` (what the host's code and tests expect)."""


class TypeAssertionError(TypeError, AssertionError):
    """:class:`ValueAssertionError` for an argument of the wrong type."""


def check_choice(name, value, choices, error=ValueError):
    """Raise ``error`` (ValueError) unless ``value`` is one of
    ``choices``.

    Types must match too, so ``2.0`` or ``True`` is not taken for ``2`` or
    ``1``.
    """
    if not any(type(value) is type(c) and value == c for c in choices):
        raise error(
            f'{name} must be one of {tuple(choices)!r}, got {value!r}')


def check_bool(name, value):
    """Raise TypeError unless ``value`` is True or False (a flag given as
    ``'False'`` or ``0`` in a config is refused, not read as its truth
    value)."""
    if not isinstance(value, bool):
        raise TypeError(f'{name} must be a bool, got {value!r}')


def check_input(x, in_channels, name='x', module=None):
    """Raise unless ``x`` is a floating-point tensor ``(N, in_channels, H,
    W)`` of the dtype of ``module``'s weights (any dtype under autocast):
    ``TypeError`` for the type or dtype, ``ValueError`` for the shape.
    ``name`` is the argument named in the message (blocks with several
    inputs)."""
    if not hasattr(x, 'is_floating_point'):
        raise TypeError(f'{name} must be a torch.Tensor, got '
                        f'{type(x).__name__}')
    if not x.is_floating_point():
        raise TypeError(f'{name} must be a floating-point tensor, got '
                        f'{x.dtype}')
    if x.dim() != 4 or x.size(1) != in_channels:
        raise ValueError(
            f'{name} must have shape (N, {in_channels}, H, W), got '
            f'{tuple(x.shape)}')
    if module is not None:
        weight = next((p for p in module.parameters()
                       if p.is_floating_point()), None)
        if weight is not None and weight.dtype != x.dtype:
            import torch
            if not torch.is_autocast_enabled(x.device.type):
                raise TypeError(
                    f'{name} has dtype {x.dtype}, but the weights of '
                    f'{type(module).__name__} are {weight.dtype}: convert '
                    'one to the other (e.g. block.to(x.dtype)) or run under '
                    'torch.autocast')


def renamed_arguments(**renames):
    """Decorate ``__init__`` so that old argument names keep working for one
    release: ``@renamed_arguments(reduction='k_divisor')`` passes a given
    ``reduction=`` on as ``k_divisor=`` with a ``DeprecationWarning`` naming
    both, and refuses a call that gives both (``TypeError``).
    """
    def decorate(init):
        @functools.wraps(init)
        def wrapper(self, *args, **kwargs):
            for old, new in renames.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    raise TypeError(
                        f'{type(self).__name__}: give {new}= only ({old}= is '
                        f'its deprecated name), got both')
                warnings.warn(
                    f'{type(self).__name__}: {old}= is deprecated and will '
                    f'be removed in the next release; use {new}=',
                    DeprecationWarning, stacklevel=2)
                kwargs[new] = kwargs.pop(old)
            return init(self, *args, **kwargs)
        return wrapper
    return decorate
