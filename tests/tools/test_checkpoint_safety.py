"""Checkpoints load under weights_only=True; foreign pickles are refused."""
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner.checkpoint import _load_checkpoint

import mmattn  # noqa: F401
from mmattn.engine import UnsafeCheckpointError
from mmattn.engine.checkpoint.safe_load import SAFE_GLOBALS

# mmattn.runtime installs the allow-list
pytestmark = pytest.mark.usefixtures('runtime_on')

def touch_file(path):
    """What the crafted checkpoint would run on load: leave a trace."""
    with open(path, 'w') as f:
        f.write('executed')


class _Payload:
    """Pickles as a call of ``touch_file`` that runs when unpickled."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (touch_file, (self.path, ))


def test_message_hub_state_round_trips(tmp_path):
    hub = MessageHub.get_instance('test_ckpt_round_trip')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', np.float64(0.5))
    hub.update_info('np_array', np.arange(3, dtype=np.int64))
    hub.update_info('np_scalar', np.float32(2.0))
    path = str(tmp_path / 'ckpt.pth')
    torch.save(dict(state_dict=dict(w=torch.ones(2)),
                    message_hub=hub.state_dict()), path)
    ckpt = _load_checkpoint(path, map_location='cpu')
    scalars = ckpt['message_hub']['log_scalars']
    assert isinstance(scalars['train/loss'], HistoryBuffer)
    assert scalars['train/loss'].mean() == pytest.approx(1.0)
    np.testing.assert_array_equal(ckpt['message_hub']['runtime_info']
                                  ['np_array'], np.arange(3))
    # statistics of a loaded buffer still work (restored, not pickled)
    assert scalars['train/loss'].statistics('max') == pytest.approx(1.5)


def test_foreign_object_is_refused_and_not_executed(tmp_path):
    target = tmp_path / 'pwned'
    path = str(tmp_path / 'evil.pth')
    torch.save(dict(state_dict=dict(w=torch.ones(1)),
                    meta=_Payload(str(target))), path)
    assert not target.exists()
    # the payload does run under an unrestricted load: the test can fail
    torch.load(path, weights_only=False)
    assert target.exists()
    target.unlink()
    with pytest.raises(UnsafeCheckpointError) as info:
        _load_checkpoint(path, map_location='cpu')
    assert 'touch_file' in str(info.value)  # the error names the object
    assert not target.exists()


def test_allow_list_is_scoped_to_checkpoint_loading(tmp_path):
    path = str(tmp_path / 'hb.pth')
    torch.save(dict(buf=HistoryBuffer([1.0], [1])), path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)  # plain torch.load keeps torch's own allow-list
    assert isinstance(_load_checkpoint(path)['buf'], HistoryBuffer)


def _stock_mmengine_checkpoint(path):
    """What mmengine writes without mmattn: its HistoryBuffer.__getstate__
    pickles the statistics table through builtins.getattr."""
    buf = HistoryBuffer([1.0, 3.0], [1, 1])
    state = dict(buf.__dict__)
    state['statistics_methods'] = dict(HistoryBuffer._statistics_methods)

    class _Legacy:

        def __reduce__(self):
            return (HistoryBuffer, (), state)

    torch.save(dict(state_dict=dict(w=torch.ones(2)),
                    meta=dict(iter=3),
                    message_hub=dict(log_scalars={'loss': _Legacy()})), path)


def test_stock_mmengine_checkpoint_loads_through_restricted_getattr(tmp_path):
    src = str(tmp_path / 'stock.pth')
    _stock_mmengine_checkpoint(src)
    # HistoryBuffer admitted, the getattr alone still stops torch: the
    # loader's restricted getattr is what makes it load
    with torch.serialization.safe_globals(SAFE_GLOBALS):
        with pytest.raises(pickle.UnpicklingError, match='getattr'):
            torch.load(src)
    ckpt = _load_checkpoint(src)
    buf = ckpt['message_hub']['log_scalars']['loss']
    assert buf.mean() == pytest.approx(2.0)
    assert buf.statistics('max') == pytest.approx(3.0)


class _Getattr:
    """Pickles as ``getattr(obj, name)``, then calls the result with args."""

    def __init__(self, obj, name, *call_args):
        self.obj, self.name, self.call_args = obj, name, call_args

    def __reduce__(self):
        return (getattr, (self.obj, self.name))


@pytest.mark.parametrize('obj, name', [(HistoryBuffer, '__init__'),
                                       (HistoryBuffer, '__class__'),
                                       (np.ndarray, 'tofile'),
                                       (np.dtype, '__subclasses__')])
def test_any_other_getattr_is_refused(tmp_path, obj, name):
    path = str(tmp_path / 'evil.pth')
    torch.save(dict(x=_Getattr(obj, name)), path)
    # unrestricted, it resolves the attribute: the test can fail
    assert torch.load(path, weights_only=False)['x'] == getattr(obj, name)
    with pytest.raises(UnsafeCheckpointError) as info:
        _load_checkpoint(path)
    assert f"builtins.getattr('{obj.__name__}', '{name}')" in str(info.value)


def test_trusted_checkpoint_converted(tmp_path):
    import convert_checkpoint
    src, dst = str(tmp_path / 'stock.pth'), str(tmp_path / 'clean.pth')
    _stock_mmengine_checkpoint(src)
    with pytest.raises(SystemExit):  # refuses without an explicit --trust
        convert_checkpoint.main([src, dst])
    convert_checkpoint.main([src, dst, '--trust'])
    # the clean file needs no getattr at all
    assert 'builtins.getattr' not in (
        torch.serialization.get_unsafe_globals_in_checkpoint(dst))
    ckpt = _load_checkpoint(dst)
    buf = ckpt['message_hub']['log_scalars']['loss']
    assert buf.mean() == pytest.approx(2.0)
    torch.testing.assert_close(ckpt['state_dict']['w'], torch.ones(2))
    convert_checkpoint.main([src, dst, '--trust', '--weights-only'])
    assert sorted(_load_checkpoint(dst)) == ['meta', 'state_dict']
