"""Training survives SIGKILL at any moment (#11 item 1).

A training subprocess is killed at random moments, twice in the middle of a
(slowed-down) checkpoint write; after each kill ``tools/train.py --resume``
continues, and every loss any of the runs logged equals the loss of an
uninterrupted run with the same seed at the same iteration. Between kills
the work dir never shows an incomplete file under a checkpoint's name.
"""
import json
import os
import os.path as osp
import random
import signal
import subprocess
import sys
import time

import pytest
import torch
from helpers import ROOT, config_path

from mmattn.engine.checkpoint.atomic import (CHECKPOINT_NAME,
                                             IncompleteCheckpointError,
                                             PARTIAL_CHECKPOINT_NAME,
                                             atomic_write, checkpoint_problem,
                                             find_resumable_checkpoint)
from mmattn.testing import as_cli, reset_mmengine_singletons, seg_smoke_options

SPANET = config_path('spanet_r50_cityscapes.py')

# tools/train.py runs with mmattn.runtime; so do these tests
pytestmark = pytest.mark.usefixtures('runtime_on')
ITERS = 6
SLOW_TRAIN = osp.join(ROOT, 'tests', 'tools', 'slow_checkpoint_train.py')


def _options(cityscapes_root, iters=ITERS):
    opts = seg_smoke_options(cityscapes_root, size=(64, 128), iters=iters)
    opts.update({
        # dropout draws from torch's RNG, which a checkpoint does not carry
        'model.decode_head.dropout_ratio': 0.0,
        'model.auxiliary_head.dropout_ratio': 0.0,
        'randomness.seed': 0,
        'train_cfg.val_interval': 100,  # no validation
        'default_hooks.checkpoint.interval': 1,
        # mmengine deletes the oldest checkpoint before writing the next one
        'default_hooks.checkpoint.max_keep_ckpts': 2,
    })
    return opts


def _losses(work_dir):
    """Iteration -> losses logged by every run in ``work_dir`` (a killed run
    may leave a half-written last line, which is skipped)."""
    losses = {}
    for dirpath, _, files in os.walk(work_dir):
        if 'scalars.json' not in files:
            continue
        with open(osp.join(dirpath, 'scalars.json')) as f:
            for line in f:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if 'loss' in record:
                    losses.setdefault(record['iter'], []).append(
                        record['loss'])
    return losses


def _assert_no_visible_partial_checkpoint(work_dir, what):
    for name in os.listdir(work_dir):
        if CHECKPOINT_NAME.match(name):
            path = osp.join(work_dir, name)
            assert checkpoint_problem(path) is None, (what, path)
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.exists(pointer):
        named = open(pointer).read()
        # the pointer is whole and names a file that was complete when it
        # was written (max_keep_ckpts may have deleted it since)
        assert CHECKPOINT_NAME.match(osp.basename(named)), (what, named)


@pytest.fixture(scope='module')
def reference_losses(cityscapes_root, tmp_path_factory):
    import train
    work_dir = str(tmp_path_factory.mktemp('uninterrupted'))
    reset_mmengine_singletons()
    train.main([SPANET, '--work-dir', work_dir] +
               as_cli(_options(cityscapes_root)))
    losses = {it: values[0] for it, values in _losses(work_dir).items()}
    assert sorted(losses) == list(range(1, ITERS + 1))
    return losses


def _assert_losses_match(work_dir, reference):
    logged = _losses(work_dir)
    assert sorted(logged) == list(range(1, ITERS + 1)), sorted(logged)
    for it, values in logged.items():
        for value in values:
            assert value == pytest.approx(reference[it], rel=1e-5,
                                          abs=1e-6), (it, values)


def test_killed_training_resumes_with_the_losses_of_an_uninterrupted_run(
        cityscapes_root, reference_losses, tmp_path):
    work_dir = str(tmp_path / 'killed')
    mark = str(tmp_path / 'writes')
    env = dict(os.environ, MMATTN_WRITE_MARK=mark,
               OMP_NUM_THREADS=str(torch.get_num_threads()))
    argv = [sys.executable, SLOW_TRAIN, SPANET, '--work-dir', work_dir]
    argv += as_cli(_options(cityscapes_root))
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)

    def writes_begun():
        return len(open(mark).readlines()) if osp.exists(mark) else 0

    def run_and_kill(resume, kill_when):
        proc = subprocess.Popen(argv + (['--resume'] if resume else []),
                                env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        try:
            kill_when(proc)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            _, stderr = proc.communicate(timeout=60)
        return proc.returncode, stderr.decode(errors='replace')

    def during_a_write(proc):
        # the n-th checkpoint write after this run started, a random way in
        target = writes_begun() + rng.choice([1, 2])
        deadline = time.time() + 240
        while writes_begun() < target and proc.poll() is None:
            assert time.time() < deadline, 'no checkpoint write began'
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.9))  # a write takes about 1 s

    def at_a_random_moment(proc):
        time.sleep(rng.uniform(1.0, 20.0))

    kills = [(False, during_a_write), (True, at_a_random_moment),
             (True, during_a_write)]
    for i, (resume, kill_when) in enumerate(kills):
        code, stderr = run_and_kill(resume, kill_when)
        what = f'kill {i + 1} (seed {seed}, {kill_when.__name__})'
        assert code in (-signal.SIGKILL, 0), (what, stderr[-3000:])
        _assert_no_visible_partial_checkpoint(work_dir, what)
        partial = [n for n in os.listdir(work_dir)
                   if PARTIAL_CHECKPOINT_NAME.match(n)]
        if kill_when is during_a_write:  # the kill hit a write in progress
            assert len(partial) == 1, (what, os.listdir(work_dir))

    done = subprocess.run(argv + ['--resume'], env=env, capture_output=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    # resuming removed what the interrupted writes left
    assert not [n for n in os.listdir(work_dir)
                if PARTIAL_CHECKPOINT_NAME.match(n)]
    assert osp.exists(osp.join(work_dir, f'iter_{ITERS}.pth'))
    # at least one kill really interrupted a checkpoint write
    assert writes_begun() > ITERS
    _assert_losses_match(work_dir, reference_losses)


def test_resume_falls_back_past_a_truncated_or_deleted_checkpoint(
        cityscapes_root, reference_losses, tmp_path, capsys):
    import train
    work_dir = str(tmp_path / 'damaged')
    opts = _options(cityscapes_root)
    opts['default_hooks.checkpoint.max_keep_ckpts'] = -1

    def train_until(iters, resume):
        reset_mmengine_singletons()
        train.main([SPANET, '--work-dir', work_dir] +
                   (['--resume'] if resume else []) +
                   as_cli(dict(opts, **{'train_cfg.max_iters': iters})))
        return capsys.readouterr().out

    train_until(3, resume=False)
    newest = osp.join(work_dir, 'iter_3.pth')
    with open(newest, 'r+b') as f:  # cut short by hand
        f.truncate(osp.getsize(newest) // 2)
    out = train_until(4, resume=True)
    assert f'{newest} (named in' in out and 'is incomplete' in out
    assert 'resuming from ' + osp.join(work_dir, 'iter_2.pth') in out

    os.remove(osp.join(work_dir, 'iter_4.pth'))  # deleted by hand
    out = train_until(5, resume=True)
    assert osp.join(work_dir, 'iter_4.pth') + ' (named in' in out
    assert 'does not exist' in out
    assert 'resuming from ' + osp.join(work_dir, 'iter_3.pth') in out

    logged = _losses(work_dir)
    assert sorted(logged) == [1, 2, 3, 4, 5]
    assert len(logged[3]) == 2 and len(logged[4]) == 2  # both ran twice
    for it, values in logged.items():
        for value in values:
            assert value == pytest.approx(reference_losses[it], rel=1e-5,
                                          abs=1e-6), (it, values)


def test_loading_an_incomplete_checkpoint_names_the_file(tmp_path):
    from mmengine.runner import CheckpointLoader
    path = str(tmp_path / 'model.pth')
    torch.save({'state_dict': {'w': torch.ones(1000)}}, path)
    assert CheckpointLoader.load_checkpoint(path)['state_dict']['w'].sum() \
        == 1000
    with open(path, 'r+b') as f:
        f.truncate(osp.getsize(path) - 100)
    with pytest.raises(IncompleteCheckpointError, match='model.pth is '
                       'incomplete'):
        CheckpointLoader.load_checkpoint(path)
    open(path, 'wb').close()
    with pytest.raises(IncompleteCheckpointError, match='is empty'):
        CheckpointLoader.load_checkpoint(path)


def test_atomic_write_keeps_the_old_file_when_the_write_fails(
        tmp_path, monkeypatch):
    import mmattn.engine.checkpoint.atomic as ac
    path = tmp_path / 'file.bin'
    atomic_write(path, b'old')
    plain = tmp_path / 'plain.bin'
    plain.write_bytes(b'')
    assert os.stat(path).st_mode == os.stat(plain).st_mode  # as open() does

    def fail_halfway(f, data):
        f.write(data[:2])
        raise OSError('disk full')

    monkeypatch.setattr(ac, '_write_data', fail_halfway)
    with pytest.raises(OSError, match='disk full'):
        atomic_write(path, b'new content')
    assert path.read_bytes() == b'old'
    assert sorted(os.listdir(tmp_path)) == ['file.bin', 'plain.bin']


def test_mmengine_writes_go_through_atomic_write(tmp_path, monkeypatch):
    import mmattn.engine.checkpoint.atomic as ac
    from mmengine.fileio import get_file_backend
    from mmengine.hooks import checkpoint_hook
    written = []
    monkeypatch.setattr(ac, '_write_data',
                        lambda f, data: (written.append(data), f.write(data)))
    backend = get_file_backend(str(tmp_path))
    backend.put(b'bytes', str(tmp_path / 'a'))
    backend.put_text('text', str(tmp_path / 'b'))
    with checkpoint_hook.open(str(tmp_path / 'last_checkpoint'), 'w') as f:
        f.write('/some/iter_1.pth')
    assert written == [b'bytes', b'text', b'/some/iter_1.pth']
    assert (tmp_path / 'last_checkpoint').read_text() == '/some/iter_1.pth'


def test_find_resumable_checkpoint_without_pointer_or_checkpoints(tmp_path):
    assert find_resumable_checkpoint(str(tmp_path)) is None
    torch.save({}, str(tmp_path / 'iter_2.pth'))
    torch.save({}, str(tmp_path / 'iter_10.pth'))
    # killed between the checkpoint and the first pointer: still found,
    # newest by number, not by name
    assert find_resumable_checkpoint(str(tmp_path)) == str(
        tmp_path / 'iter_10.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_2.pth'))
    assert find_resumable_checkpoint(str(tmp_path)) == str(
        tmp_path / 'iter_2.pth')
