"""The SPEM auxiliary loss for mmengine runners, on by one config line.

SPEM (:class:`~mmattn.blocks.SelfAdaptivePoolingAttention`) trains with the
task loss plus ``alpha * sum over blocks of sum(p ** 2)`` (alpha = 0.1 in the
reference). Its reference code threads the running sum through the network
next to the features; a plugin in an mmseg/mmdet backbone can only return a
tensor. :class:`SPEPenaltyHook` therefore adds the term where mmengine sums
the losses: while training it puts ``loss_spe`` into the dict returned by the
model's ``forward(..., mode='loss')``, and ``BaseModel.parse_losses`` adds
every ``loss*`` entry into the loss that is back-propagated (and logs it)::

    custom_hooks = [dict(type='mmattn.SPEPenaltyHook', alpha=0.1)]

Being a term of the loss, it is exact for every optimizer, under AMP loss
scaling and gradient accumulation. The alternative, weight decay of
``2 * alpha`` on the ``p`` parameters (d(alpha p^2)/dp = 2 alpha p), matches
only optimizers that add decay to the gradient (SGD, Adam) and not AdamW's
decoupled decay, replaces the base weight decay of ``p`` rather than adding
to it, and hinges on a ``custom_keys`` substring that plugin postfixes and
longer keys can defeat.
"""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ...blocks.spe import SelfAdaptivePoolingAttention
from ...registry import HOOKS


def spe_blocks(model):
    """Every :class:`~mmattn.blocks.SelfAdaptivePoolingAttention` in model."""
    return [m for m in model.modules()
            if isinstance(m, SelfAdaptivePoolingAttention)]


def spe_penalty(blocks):
    """``sum(p ** 2)`` over ``blocks`` (a scalar tensor with gradient)."""
    return torch.stack([block.pooling_penalty() for block in blocks]).sum()


@HOOKS.register_module()
class SPEPenaltyHook(Hook):
    """Adds ``loss_spe = alpha * sum(p ** 2)`` of all SPEM blocks to the loss.

    Args:
        alpha (float): weight of the term; the paper's 0.1 by default.
        loss_name (str): key of the term in the loss dict; it must contain
            ``'loss'`` for mmengine to add it to the optimised loss.

    Raises ``ValueError`` at the start of training if the model holds no
    :class:`~mmattn.blocks.SelfAdaptivePoolingAttention`: a hook that silently
    does nothing would hide a misconfigured backbone.
    """

    def __init__(self, alpha=0.1, loss_name='loss_spe'):
        if (isinstance(alpha, bool) or not isinstance(alpha, (int, float))
                or not alpha >= 0):
            raise ValueError(
                f'alpha must be a non-negative number, got {alpha!r}')
        if not isinstance(loss_name, str) or 'loss' not in loss_name:
            raise ValueError(
                "loss_name must be a str containing 'loss' (mmengine "
                f'optimises only those entries), got {loss_name!r}')
        self.alpha = float(alpha)
        self.loss_name = loss_name
        self._handle = None
        self._blocks = []

    def before_train(self, runner):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        self._blocks = spe_blocks(model)
        if not self._blocks:
            raise ValueError(
                'SPEPenaltyHook found no SelfAdaptivePoolingAttention in '
                f'{type(model).__name__}: add the block (e.g. as a backbone '
                'plugin) or remove the hook')
        # The unwrapped model's forward is the one called with mode='loss'
        # whether or not a DistributedDataParallel wrapper surrounds it.
        self._handle = model.register_forward_hook(
            self._add_penalty, with_kwargs=True)

    def after_train(self, runner):
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        self._blocks = []

    def _add_penalty(self, module, args, kwargs, output):
        if kwargs.get('mode') != 'loss' or not isinstance(output, dict):
            return None
        if self.loss_name in output:
            raise ValueError(
                f'the model already returns a loss named {self.loss_name!r}; '
                'pick another loss_name for SPEPenaltyHook')
        output = dict(output)
        output[self.loss_name] = self.alpha * spe_penalty(self._blocks)
        return output
