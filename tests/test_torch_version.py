"""import mmattn on a torch older than the minimum fails naming it (#22)."""
import subprocess
import sys

import pytest

from mmattn.version import MIN_TORCH_VERSION, check_torch_version


@pytest.mark.parametrize('version', ['2.6.0', '2.6.0+cu124', '2.14.1+cu130',
                                     '3.0.0a0+git123'])
def test_supported_versions_pass(version):
    check_torch_version(version)


@pytest.mark.parametrize('version', ['2.5.1', '2.1.2+cu121', '1.13.1+cpu',
                                     'unknown'])
def test_older_versions_name_the_minimum(version):
    with pytest.raises(ImportError, match=f'torch >= {MIN_TORCH_VERSION}'):
        check_torch_version(version)


def test_import_mmattn_on_an_old_torch_fails_naming_the_minimum():
    code = ('import torch; torch.__version__ = "2.1.2"\n'
            'try:\n    import mmattn\n'
            'except ImportError as err:\n    print(err)\n')
    done = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=300)
    assert f'mmattn needs torch >= {MIN_TORCH_VERSION}, but torch 2.1.2' in \
        done.stdout, done.stdout + done.stderr
