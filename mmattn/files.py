"""What the file checks of checkpoints and data share."""
import os.path as osp


def read_ends(path, head=8, tail=64):
    """``(problem, head_bytes, tail_bytes)`` of the local file ``path``:
    ``problem`` is ``'does not exist'``, ``'is empty (0 bytes)'`` or None;
    the first ``head`` and last ``tail`` bytes are read when it is None
    (a truncated file shows at its end)."""
    if not osp.isfile(path):
        return 'does not exist', b'', b''
    size = osp.getsize(path)
    if size == 0:
        return 'is empty (0 bytes)', b'', b''
    with open(path, 'rb') as f:
        first = f.read(head)
        f.seek(max(0, size - tail))
        last = f.read()
    return None, first, last
