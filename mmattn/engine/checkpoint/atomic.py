"""Checkpoints that are complete or absent, and a resume that says which.

mmengine writes a checkpoint straight into its final file, then points the
work dir's ``last_checkpoint`` at it. A run killed during the write (a
pre-empted cluster job, an out-of-memory kill) leaves a truncated file under
the final name, and ``--resume`` picks it up and fails deep inside torch.

Two ways to change that, without changing the file format:

* Writing: every file written through :class:`AtomicLocalBackend` (the file
  backend ``'mmattn_atomic_local'``, which ``mmattn.AtomicCheckpointHook``
  uses for its checkpoints; :mod:`mmattn.runtime` puts its methods on
  mmengine's ``LocalBackend`` for every run) goes to a temporary file in the
  same folder, which is flushed, fsynced and then renamed over the final
  name (``os.replace`` is atomic on POSIX and Windows). A kill leaves either
  the old file or the new one, plus at most a stray ``.<name>.<pid>.tmp``
  that nothing reads. ``last_checkpoint`` is written after the checkpoint
  it names, as mmengine already orders it.
* Resuming: :func:`find_resumable_checkpoint` is what ``tools/train.py
  --resume`` resumes from (:mod:`mmattn.runtime` also puts it in place of
  mmengine's ``find_latest_checkpoint``). When ``last_checkpoint`` names a file that is
  missing or incomplete (deleted or truncated by hand, or by mmengine's
  ``max_keep_ckpts`` deleting the old file before a killed write), it warns,
  naming the file and what is wrong, and falls back to the newest complete
  ``iter_*.pth`` / ``epoch_*.pth`` of the folder. Loading an explicitly
  given incomplete checkpoint raises :class:`IncompleteCheckpointError`
  naming the file.
"""
import logging
import os
import os.path as osp
import re
import zipfile

from mmengine.fileio.backends import LocalBackend, register_backend
from mmengine.logging import print_log

from ...files import read_ends

#: The names mmengine's CheckpointHook gives its checkpoints.
CHECKPOINT_NAME = re.compile(r'^(iter|epoch)_(\d+)\.pth$')
#: The temporary file a killed checkpoint write leaves (see atomic_write).
PARTIAL_CHECKPOINT_NAME = re.compile(r'^\.(iter|epoch)_\d+\.pth\.\d+\.tmp$')


class IncompleteCheckpointError(RuntimeError):
    """A checkpoint file is empty or truncated."""


def _write_data(f, data):
    """Write ``data`` to the open file ``f`` (one call; tests slow it down to
    kill a run in the middle of a write)."""
    f.write(data)


def atomic_write(path, data):
    """Write ``data`` (bytes or str) to ``path`` so that ``path`` holds
    either its old content or all of ``data``, never a part.

    The data goes to a temporary file in the same folder (a rename across
    file systems would not be atomic), which is flushed, fsynced and renamed
    over ``path``; the folder is fsynced so the rename survives a crash.
    The new file gets the permissions a plain ``open`` would give it.
    """
    path = os.fspath(path)
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode('utf-8')
    tmp = osp.join(folder, f'.{osp.basename(path)}.{os.getpid()}.tmp')
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        with os.fdopen(fd, 'wb') as f:
            _write_data(f, data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    try:  # make the rename itself durable (not possible on every platform)
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def checkpoint_problem(path):
    """What is wrong with the checkpoint file ``path``, or None if nothing
    is seen: missing, empty, or a torch zip archive without its end (which
    is where a truncated write stops). Files in torch's legacy (non-zip)
    format are not checked."""
    problem, magic, _ = read_ends(path, head=4, tail=0)
    if problem is not None:
        return problem
    if magic == b'PK\x03\x04':
        try:
            with zipfile.ZipFile(path) as archive:
                archive.namelist()
        except (zipfile.BadZipFile, OSError) as err:
            return (f'is incomplete ({osp.getsize(path)} bytes, '
                    f'truncated?): {err}')
    return None


def check_checkpoint_file(path):
    """Raise :class:`IncompleteCheckpointError` naming ``path`` if
    :func:`checkpoint_problem` finds something wrong with it."""
    problem = checkpoint_problem(path)
    if problem is not None:
        raise IncompleteCheckpointError(
            f'checkpoint {path} {problem}. It was not written completely '
            '(a run killed while saving, or a copy cut short); use an '
            'earlier checkpoint, or resume with tools/train.py --resume, '
            'which falls back to the newest complete one.')


def _checkpoints_newest_first(folder):
    found = []
    for name in os.listdir(folder) if osp.isdir(folder) else []:
        match = CHECKPOINT_NAME.match(name)
        if match:
            found.append((int(match.group(2)), osp.join(folder, name)))
    return [path for _, path in sorted(found, reverse=True)]


def _remove_partial_checkpoints(folder):
    # what killed writes left: never read, and as large as a checkpoint
    for name in os.listdir(folder) if osp.isdir(folder) else []:
        if PARTIAL_CHECKPOINT_NAME.match(name):
            print_log(f'removing {name}, a checkpoint write that was '
                      'interrupted', logger='current', level=logging.WARNING)
            os.remove(osp.join(folder, name))


def find_resumable_checkpoint(work_dir):
    """The checkpoint ``--resume`` (without a file) continues from.

    The one ``work_dir/last_checkpoint`` names if it is complete; otherwise,
    with a warning naming the file and what is wrong with it, the newest
    complete ``iter_N.pth`` / ``epoch_N.pth`` of its folder (of ``work_dir``
    when there is no ``last_checkpoint``). None when there is none: the run
    then starts from scratch, as mmengine does. The temporary files of
    interrupted checkpoint writes in ``work_dir`` are removed.
    """
    _remove_partial_checkpoints(work_dir)
    pointer = osp.join(work_dir, 'last_checkpoint')
    named = None
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip() or None
        if named is None:
            print_log(f'{pointer} is empty; looking for checkpoints in '
                      f'{work_dir}', logger='current', level=logging.WARNING)
    if named is not None:
        problem = checkpoint_problem(named)
        if problem is None:
            return named
        print_log(f'the newest checkpoint {named} (named in {pointer}) '
                  f'{problem}; falling back to the previous complete one',
                  logger='current', level=logging.WARNING)
    folder = osp.dirname(named) if named else work_dir
    for path in _checkpoints_newest_first(folder):
        if path == named:
            continue
        problem = checkpoint_problem(path)
        if problem is None:
            if named is not None or osp.isfile(pointer):
                print_log(f'resuming from {path}', logger='current',
                          level=logging.WARNING)
            return path
        print_log(f'skipping checkpoint {path}: it {problem}',
                  logger='current', level=logging.WARNING)
    if named is not None:
        print_log(f'no complete checkpoint left in {folder}: training '
                  'starts from scratch', logger='current',
                  level=logging.WARNING)
    else:
        print_log('Did not find last_checkpoint to be resumed.',
                  logger='current')
    return None


class AtomicLocalBackend(LocalBackend):
    """mmengine's ``LocalBackend`` whose ``put`` and ``put_text`` write
    through :func:`atomic_write`: a reader (or a resume after a kill) sees
    the old file or the whole new one. Registered as the file backend
    ``'mmattn_atomic_local'``."""

    def put(self, obj, filepath):
        atomic_write(filepath, obj)

    def put_text(self, obj, filepath, encoding='utf-8'):
        atomic_write(filepath, obj.encode(encoding))


#: The name under which mmengine's ``get_file_backend`` finds it
#: (``backend_args=dict(backend=ATOMIC_BACKEND)``).
ATOMIC_BACKEND = 'mmattn_atomic_local'
register_backend(ATOMIC_BACKEND, AtomicLocalBackend)


class _AtomicTextFile:
    """What ``open(path, 'w')`` returns inside mmengine's checkpoint hook
    under :mod:`mmattn.runtime`: collects the text and writes it with
    :func:`atomic_write` on close."""

    def __init__(self, path):
        self.path = path
        self.parts = []

    def write(self, text):
        self.parts.append(text)
        return len(text)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            atomic_write(self.path, ''.join(self.parts))
        return False


def checkpoint_hook_open(file, mode='r', *args, **kwargs):
    """The ``open`` of mmengine's checkpoint hook module under
    :mod:`mmattn.runtime`: the hook's only use of ``open`` writes
    ``last_checkpoint``, which this makes atomic."""
    if mode == 'w' and not args and not kwargs:
        return _AtomicTextFile(file)
    return open(file, mode, *args, **kwargs)
