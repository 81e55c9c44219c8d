"""Forward hooks that record what the attention modules of a model get."""
import fnmatch
from collections import OrderedDict

from .attention_maps import PICTURES


class AttentionRecorder:
    """Record the inputs of every attention module of ``model`` that mmattn
    can draw, during the forwards run inside the ``with`` block.

    Args:
        model: any ``nn.Module`` (a segmentor, a detector, a block).
        modules (list[str], optional): names (``fnmatch`` patterns, as in
            ``model.named_modules()``) to keep; default all drawable ones.

    After the block, ``calls`` maps module name -> (module, list of the
    positional arguments of each call, detached). The model is not
    changed: the hooks are removed on exit.
    """

    def __init__(self, model, modules=None):
        self.targets = OrderedDict(
            (name, m) for name, m in model.named_modules()
            if type(m) in PICTURES and (not modules or any(
                fnmatch.fnmatchcase(name, p) for p in modules)))
        if modules and not self.targets:
            drawable = [n for n, m in model.named_modules()
                        if type(m) in PICTURES]
            raise ValueError(
                f'--modules {modules} matched no drawable module; the model '
                f'has: {drawable or "none"}')
        self.calls = OrderedDict()
        self._handles = []

    def __enter__(self):
        for name, module in self.targets.items():
            self._handles.append(module.register_forward_hook(
                self._hook(name)))
        return self

    def _hook(self, name):
        def record(module, args, output):
            self.calls.setdefault(name, (module, []))[1].append(
                tuple(a.detach() if hasattr(a, 'detach') else a
                      for a in args))
        return record

    def __exit__(self, *exc):
        for handle in self._handles:
            handle.remove()
        self._handles = []
        return False
