"""``tools/train.py`` whose checkpoint writes are slow, for the kill test.

Every write of more than 1 MiB (a checkpoint, not ``last_checkpoint``)
appends a line to the file named by ``MMATTN_WRITE_MARK`` when it begins,
then writes its data in ten pieces 0.1 s apart, so that a test can send
SIGKILL while a checkpoint is half written. The product is unchanged: only
this process's ``mmattn.engine.checkpoint.atomic._write_data`` is replaced.
"""
import os
import sys
import time

import mmattn.engine.checkpoint.atomic as atomic_checkpoint

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _slow_write(f, data):
    if len(data) <= 1 << 20:
        f.write(data)
        return
    with open(os.environ['MMATTN_WRITE_MARK'], 'a') as mark:
        mark.write(f'{time.time()}\n')
    piece = len(data) // 10 + 1
    for start in range(0, len(data), piece):
        f.write(data[start:start + piece])
        f.flush()
        time.sleep(0.1)


if __name__ == '__main__':
    atomic_checkpoint._write_data = _slow_write
    sys.path.insert(0, os.path.join(ROOT, 'tools'))
    import train
    train.main(sys.argv[1:])
