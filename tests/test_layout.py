"""The tree keeps its layers (#23 item 5): the library reads nothing of the
checkout, tests share helpers through a module, modules stay small."""
import ast
import glob
import os
import os.path as osp
import re
import subprocess
import sys
import zipfile

from helpers import ROOT

LIBRARY = sorted(glob.glob(osp.join(ROOT, 'mmattn', '**', '*.py'),
                           recursive=True))


def test_library_code_reads_no_repository_configs():
    # a pip-installed mmattn has no configs/, projects/ or tools/ beside it
    offenders = []
    for path in LIBRARY:
        text = open(path).read()
        for line in text.splitlines():
            code = line.split('#')[0]
            if re.search(r"['\"](configs|projects|tools)['\"]", code):
                offenders.append(f'{osp.relpath(path, ROOT)}: {line.strip()}')
    assert offenders == []


def test_no_test_imports_conftest():
    offenders = []
    for path in glob.glob(osp.join(ROOT, 'tests', '**', '*.py'),
                          recursive=True):
        tree = ast.parse(open(path).read())
        for node in ast.walk(tree):
            names = ([a.name for a in node.names]
                     if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) else [])
            if 'conftest' in names:
                offenders.append(osp.relpath(path, ROOT))
    assert offenders == []


def test_library_modules_stay_under_400_lines():
    long = {osp.relpath(p, ROOT): n for p in LIBRARY
            if (n := sum(1 for _ in open(p))) > 400}
    assert long == {}


def test_a_wheel_works_outside_the_checkout(tmp_path):
    """``pip install .`` ships mmattn alone; imported from elsewhere it
    registers and its runtime installs, with nothing of the checkout."""
    built = subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
         '--no-build-isolation', '-w', str(tmp_path / 'wheel'), ROOT],
        capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel, ) = glob.glob(str(tmp_path / 'wheel' / '*.whl'))
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split('/')[0] for name in archive.namelist()}
        archive.extractall(tmp_path / 'site')
    assert {t for t in tops if not t.endswith('.dist-info')} == {'mmattn'}
    code = ('import mmattn, mmattn.runtime\n'
            'from mmattn.registry import MODELS\n'
            "assert MODELS.get('SqueezeExcitation') is not None\n"
            'assert mmattn.runtime.is_installed()\n'
            'print(mmattn.__file__)\n')
    ran = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, timeout=300, cwd=str(tmp_path),
                         env=dict(os.environ,
                                  PYTHONPATH=str(tmp_path / 'site')))
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.strip().startswith(str(tmp_path / 'site'))


def test_no_source_file_is_git_ignored():
    """A package folder named like a build output (``dist/``, ``build/``)
    is ignored by .gitignore: its new files would never reach a clone."""
    import pytest
    if not osp.isdir(osp.join(ROOT, '.git')):
        pytest.skip('not a git checkout')
    listed = subprocess.run(
        ['git', 'ls-files', '--others', '--ignored', '--exclude-standard',
         '--', 'mmattn', 'tests', 'tools', 'projects', 'configs', 'docs'],
        capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert listed.returncode == 0, listed.stderr
    ignored = [p for p in listed.stdout.splitlines()
               if p.endswith(('.py', '.md', '.sh', '.json', '.yml', '.yaml'))
               and '__pycache__' not in p and '.egg-info' not in p]
    assert ignored == []
