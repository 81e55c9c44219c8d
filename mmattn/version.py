"""The one place the mmattn version is written, and the oldest torch it
supports: the oldest stack of tools/check_stacks.sh that trains and resumes
(docs/install.md). mmattn's ops need torch.library.custom_op (torch 2.4) and
its checkpoint loading torch.serialization.safe_globals (2.5)."""
__version__ = '0.1.0'
MIN_TORCH_VERSION = '2.6'


def check_torch_version(version):
    """Raise ImportError, naming the minimum, for a torch older than
    MIN_TORCH_VERSION (``version`` as torch.__version__ spells it)."""
    import re
    found = re.match(r'(\d+)\.(\d+)', version)
    minimum = tuple(int(v) for v in MIN_TORCH_VERSION.split('.'))
    if found is None or tuple(int(v) for v in found.groups()) < minimum:
        raise ImportError(
            f'mmattn needs torch >= {MIN_TORCH_VERSION}, but torch {version} '
            'is installed: install a newer torch (docs/install.md lists the '
            'stacks tested)')
