"""Build (or reuse) the mmcv wheel with compiled ops for the installed torch.

mmcv 2.1.0 has no prebuilt wheel for current torch releases, so mmattn's
install compiles it. Three things decide the build, and each is probed rather
than looked up in a version table:

* the C++ standard: torch 2.14's headers refuse anything below C++20
  (``#error C++20 or later ... ATen``) while mmcv 2.1.0's setup.py hard-codes
  ``-std=c++17``. We preprocess ``ATen/ATen.h`` with each standard from
  C++17 up and take the first the headers accept;
* CUDA ops: built when a GPU is visible, or when asked for with
  ``MMATTN_CUDA_OPS=1`` (or mmcv's own ``FORCE_CUDA=1``); ``MMATTN_CUDA_OPS=0``
  forces CPU ops. They need a CUDA torch and nvcc. The architectures come from
  ``TORCH_CUDA_ARCH_LIST``, else from the visible GPUs, else
  ``DEFAULT_ARCH_LIST``: device code for 8.0 (A100; it also runs on 8.9,
  Ada), 8.6 (RTX 30xx, A10, A40) and 9.0 (H100/H200), plus 9.0's PTX, which
  the driver compiles for newer GPUs (Blackwell) at first use;
* CUDA headers the toolkit lacks (cuBLAS, cuSPARSE...): taken from the
  ``nvidia`` wheels that a pip-installed CUDA torch brings.

The patch applied to mmcv's setup.py (``PATCH``) only lets the standard be
chosen (``MMCV_CXX_STD``); with it unset mmcv builds exactly as upstream.
Each build also writes ``mmcv/_mmattn_build.py`` into the wheel: the torch it
was compiled against and how, which ``tools/check_install.py`` compares with
the installed torch.

Wheels are cached per build key (torch version and git commit, CUDA version,
ops target, architectures, C++ standard) under ``$MMATTN_WHEEL_CACHE``
(default ``~/.cache/mmattn/wheels``); pip's own cache is never used for mmcv
(it keys a built wheel by its source alone, so it would hand a wheel built
for another torch to this one).

    python tools/build_mmcv.py --print-plan       # what would be built
    python tools/build_mmcv.py --install          # build or reuse, install
    python tools/build_mmcv.py --cuda-ops --arch-list '8.0;9.0' --out DIR
"""
import argparse
import glob
import hashlib
import json
import os
import os.path as osp
import pprint
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

MMCV_VERSION = '2.1.0'
# PyPI's sdist of mmcv 2.1.0; a different file is refused.
MMCV_SDIST_SHA256 = \
    'd387bcab66b467479b6660310e23746cfc79c6e57acf04094680adb499a5cd3f'
DEFAULT_ARCH_LIST = '8.0;8.6;9.0+PTX'
CXX_STANDARDS = ('c++17', 'c++20', 'c++23')
# The whole patch: the two places mmcv 2.1.0's setup.py fixes -std=c++17
# (the C++ compiler's and nvcc's flags) read MMCV_CXX_STD instead.
PATCH = (
    ("extra_compile_args['cxx'] = ['-std=c++17']",
     "extra_compile_args['cxx'] = "
     "['-std=' + os.getenv('MMCV_CXX_STD', 'c++17')]"),
    ("extra_compile_args['nvcc'] += ['-std=c++17']",
     "extra_compile_args['nvcc'] += "
     "['-std=' + os.getenv('MMCV_CXX_STD', 'c++17')]"),
)
BUILD_INFO_MODULE = '_mmattn_build.py'
CUDA_HEADERS = ('cublas_v2.h', 'cusparse.h', 'cuda_runtime.h')


def log(message):
    print(f'[mmattn mmcv] {message}', flush=True)


class BuildError(RuntimeError):
    """A build that cannot go on; the message says why and what to do."""


# ---------------------------------------------------------------- probes
def torch_facts():
    """What the build depends on in the installed torch."""
    import torch
    from torch.utils import cpp_extension
    return dict(torch_version=torch.__version__,
                torch_git_version=torch.version.git_version,
                torch_cuda=torch.version.cuda,
                include_paths=cpp_extension.include_paths(),
                gpu_capabilities=[
                    '{}.{}'.format(*torch.cuda.get_device_capability(i))
                    for i in range(torch.cuda.device_count())
                ] if torch.cuda.is_available() else [])


def probe_cxx_standard(include_paths, compiler='c++'):
    """The oldest C++ standard in CXX_STANDARDS whose preprocessing of
    ATen/ATen.h passes (torch's headers #error on a standard they refuse)."""
    args = [a for path in include_paths for a in ('-I', path)]
    errors = []
    for std in CXX_STANDARDS:
        done = subprocess.run(
            [compiler, '-x', 'c++', f'-std={std}', '-E', *args, '-',
             '-o', os.devnull], input='#include <ATen/ATen.h>\n',
            capture_output=True, text=True)
        if done.returncode == 0:
            return std
        errors.append(f'-std={std}: ' + done.stderr.strip()[-300:])
    raise BuildError('no C++ standard of ' + ', '.join(CXX_STANDARDS) +
                     ' preprocesses torch\'s ATen/ATen.h with ' + compiler +
                     ':\n' + '\n'.join(errors))


def want_cuda_ops(environ, torch_cuda, gpus):
    """(bool, reason): whether to build CUDA ops."""
    asked = environ.get('MMATTN_CUDA_OPS', '')
    if asked not in ('', '0', '1'):
        raise BuildError(f'MMATTN_CUDA_OPS={asked!r}: expected 1 (build CUDA '
                         'ops), 0 (CPU ops only) or unset (CUDA ops when a '
                         'GPU is visible)')
    if asked == '0':
        return False, 'MMATTN_CUDA_OPS=0'
    if asked == '1' or environ.get('FORCE_CUDA') == '1':
        why = 'MMATTN_CUDA_OPS=1' if asked == '1' else 'FORCE_CUDA=1'
        if torch_cuda is None:
            raise BuildError(f'{why} asks for CUDA ops, but the installed '
                             'torch is a CPU build: install a CUDA build of '
                             'torch first')
        return True, why
    if gpus:
        return True, 'a GPU is visible (' + ', '.join(gpus) + ')'
    return False, 'no GPU is visible and MMATTN_CUDA_OPS is not 1'


def cuda_arch_list(environ, gpus):
    """(arch list, where it came from)."""
    if environ.get('TORCH_CUDA_ARCH_LIST'):
        return environ['TORCH_CUDA_ARCH_LIST'], 'TORCH_CUDA_ARCH_LIST'
    if gpus:
        return ';'.join(sorted(set(gpus))), 'the visible GPUs'
    return DEFAULT_ARCH_LIST, 'the default (no GPU visible)'


def find_cuda_home(environ):
    """The toolkit folder: CUDA_HOME, else nvcc's (through wrapper scripts:
    the folder whose include/ holds cuda_runtime.h), else /usr/local/cuda."""
    candidates = [environ.get('CUDA_HOME'), environ.get('CUDA_PATH')]
    nvcc = shutil.which('nvcc', path=environ.get('PATH'))
    if nvcc:
        candidates.append(osp.dirname(osp.dirname(osp.realpath(nvcc))))
    candidates.append('/usr/local/cuda')
    for home in candidates:
        if home and osp.isfile(osp.join(home, 'bin', 'nvcc')) and \
                osp.isfile(osp.join(home, 'include', 'cuda_runtime.h')):
            return home
    raise BuildError('CUDA ops were asked for, but no CUDA toolkit was found '
                     '(nvcc with include/cuda_runtime.h beside it): set '
                     'CUDA_HOME or put nvcc on PATH')


def extra_cuda_include_dirs(cuda_home, search_roots):
    """Folders that supply the CUDA headers (CUDA_HEADERS) the toolkit lacks:
    the include/ folders of pip's nvidia wheels under search_roots."""
    missing = [h for h in CUDA_HEADERS
               if not osp.isfile(osp.join(cuda_home, 'include', h))]
    dirs = []
    for header in missing:
        for root in search_roots:
            found = sorted(glob.glob(osp.join(root, 'nvidia', '*', 'include',
                                              header)))
            if found:
                folder = osp.dirname(found[0])
                if folder not in dirs:
                    dirs.append(folder)
                break
        else:
            raise BuildError(f'{header} is in neither {cuda_home}/include nor '
                             'any nvidia/*/include of ' + ', '.join(
                                 search_roots) + ': install the CUDA '
                             'toolkit\'s libraries or a CUDA build of torch')
    return dirs


def build_key(info):
    """The cache folder name: every fact the binary depends on."""
    ops = ('cuda' + info['cuda_arch_list'].replace(';', '_')
           if info['cuda_ops'] else 'cpu')
    git = (info['torch_git_version'] or 'unknown')[:12]
    cuda = info['torch_cuda'] or 'cpu'
    key = f"torch{info['torch_version']}-{git}-cuda{cuda}-{ops}-" \
          f"{info['cxx_std']}"
    return re.sub(r'[^A-Za-z0-9._+-]', '_', key)


def plan(environ=None, facts=None):
    """Everything about the build to make, decided from the environment."""
    environ = dict(os.environ if environ is None else environ)
    facts = torch_facts() if facts is None else facts
    cxx_std = environ.get('MMCV_CXX_STD') or probe_cxx_standard(
        facts['include_paths'], environ.get('CXX', 'c++'))
    cuda_ops, why = want_cuda_ops(environ, facts['torch_cuda'],
                                  facts['gpu_capabilities'])
    info = dict(mmcv_version=MMCV_VERSION,
                torch_version=facts['torch_version'],
                torch_git_version=facts['torch_git_version'],
                torch_cuda=facts['torch_cuda'], cxx_std=cxx_std,
                cuda_ops=cuda_ops, cuda_ops_reason=why, cuda_arch_list='',
                cuda_arch_source='', cuda_home='', cuda_include_dirs=[])
    if cuda_ops:
        arch, source = cuda_arch_list(environ, facts['gpu_capabilities'])
        home = find_cuda_home(environ)
        # the nvidia wheels lie beside torch: torch's include folder is
        # site-packages/torch/include
        roots = [osp.dirname(osp.dirname(p)) for p in facts['include_paths']
                 if p.endswith(osp.join('torch', 'include'))]
        roots += [p for p in sys.path if p.endswith('-packages')]
        roots = list(dict.fromkeys(roots))
        info.update(cuda_arch_list=arch, cuda_arch_source=source,
                    cuda_home=home,
                    cuda_include_dirs=extra_cuda_include_dirs(home, roots))
    info['key'] = build_key(info)
    return info


# ---------------------------------------------------------------- source
def patch_setup_py(text):
    """mmcv's setup.py with PATCH applied; each place must occur once."""
    for old, new in PATCH:
        count = text.count(old)
        if count != 1:
            raise BuildError(f'mmcv setup.py: expected {old!r} once, found '
                             f'it {count} times: not mmcv {MMCV_VERSION}\'s '
                             'setup.py')
        text = text.replace(old, new)
    return text


def build_info_source(info):
    keep = ('mmcv_version', 'torch_version', 'torch_git_version',
            'torch_cuda', 'cxx_std', 'cuda_ops', 'cuda_arch_list')
    return ('"""How mmattn\'s install compiled this mmcv (tools/'
            'build_mmcv.py)."""\nBUILD = ' +
            pprint.pformat({k: info[k] for k in keep}) + '\n')


def sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def fetch_sdist(python, cache, build_deps_env):
    """mmcv's sdist, from the cache or from the package index (checked)."""
    path = osp.join(cache, f'mmcv-{MMCV_VERSION}.tar.gz')
    if not osp.isfile(path):
        tmp = tempfile.mkdtemp(dir=cache)
        # --no-build-isolation: pip prepares mmcv's metadata by running its
        # setup.py, which imports torch and pkg_resources
        run([python, '-m', 'pip', 'download', '--no-cache-dir', '--no-deps',
             '--no-binary', 'mmcv', '--no-build-isolation',
             f'mmcv=={MMCV_VERSION}', '-d', tmp], env=build_deps_env,
            what='download of mmcv\'s source')
        os.replace(osp.join(tmp, osp.basename(path)), path)
        shutil.rmtree(tmp, ignore_errors=True)
    if sha256(path) != MMCV_SDIST_SHA256:
        os.remove(path)
        raise BuildError(f'{path} is not PyPI\'s mmcv {MMCV_VERSION} sdist '
                         '(sha256 differs): removed, run again')
    return path


def run(cmd, env=None, what='command', log_path=None):
    if log_path is None:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            output = '\n'.join(line for line in (done.stdout + done.stderr)
                               .splitlines() if 'is ignored' not in line)
            raise BuildError(f'{what} failed:\n' + output[-4000:])
        return
    with open(log_path, 'w') as out:
        done = subprocess.run(cmd, env=env, stdout=out,
                              stderr=subprocess.STDOUT)
    if done.returncode != 0:
        lines = [line for line in open(log_path, errors='replace')
                 if 'is ignored' not in line]
        errors = [line for line in lines if re.search(r'error', line, re.I)]
        raise BuildError(f'{what} failed (log: {log_path}):\n' +
                         ''.join((errors or lines)[-40:]))


def report_progress(log_path, stop, seconds):
    """Every `seconds`, how many of mmcv's sources ninja says are built."""
    while not stop.wait(seconds):
        try:
            with open(log_path, errors='replace') as f:
                built = re.findall(r'\[\d+/\d+\]', f.read())
        except OSError:  # not written yet
            built = []
        log(f'build: {built[-1] if built else "no source yet"} compiled')


# ---------------------------------------------------------------- build
def build(info, cache_root, python=sys.executable, jobs=None):
    """The wheel for `info` (from the cache, else compiled); its path."""
    cache = osp.join(cache_root, f'mmcv-{MMCV_VERSION}')
    key_dir = osp.join(cache, info['key'])
    wheels = glob.glob(osp.join(key_dir, f'mmcv-{MMCV_VERSION}-*.whl'))
    if wheels:
        log(f'using the cached wheel {wheels[0]}')
        return wheels[0]
    os.makedirs(key_dir, exist_ok=True)
    deps = osp.join(cache, '.build-deps')
    if not osp.isdir(osp.join(deps, 'pkg_resources')):
        # mmcv's setup.py imports pkg_resources (gone in setuptools 81);
        # ninja lets torch's extension builder compile MAX_JOBS at once
        run([python, '-m', 'pip', 'install', '--no-cache-dir', '--target',
             deps, 'setuptools<70', 'wheel', 'ninja'],
            what='install of the build tools')
    env = dict(os.environ, PYTHONPATH=deps,
               PATH=osp.join(deps, 'bin') + os.pathsep + os.environ['PATH'],
               PIP_NO_CACHE_DIR='1', MMCV_WITH_OPS='1',
               MMCV_CXX_STD=info['cxx_std'],
               FORCE_CUDA='1' if info['cuda_ops'] else '0',
               MAX_JOBS=str(jobs or os.environ.get('MAX_JOBS') or
                            os.cpu_count() or 2))
    if info['cuda_ops']:
        env.update(CUDA_HOME=info['cuda_home'],
                   TORCH_CUDA_ARCH_LIST=info['cuda_arch_list'])
        includes = ' '.join(f'-I{d}' for d in info['cuda_include_dirs'])
        if includes:  # nvcc's flags, and the C++ compiler's through CPATH
            env['MMCV_CUDA_ARGS'] = (env.get('MMCV_CUDA_ARGS', '') + ' ' +
                                     includes).strip()
            env['CPATH'] = os.pathsep.join(
                info['cuda_include_dirs'] +
                ([env['CPATH']] if env.get('CPATH') else []))
    else:  # without CUDA ops torch must not look for a GPU architecture
        env.pop('TORCH_CUDA_ARCH_LIST', None)
    # No debug information (-g comes from Python's own CFLAGS): it nearly
    # doubles each compile. The precompiled torch header (see
    # tools/mmcv_pch_cxx.sh) saves most of the rest; MMATTN_MMCV_PCH=0 turns
    # it off.
    env['CFLAGS'] = (env.get('CFLAGS', '') + ' -g0').strip()
    if env.get('MMATTN_MMCV_PCH', '1') != '0':
        env.update(MMATTN_REAL_CXX=env.get('CXX', 'c++'),
                   CXX=osp.join(osp.dirname(osp.abspath(__file__)),
                                'mmcv_pch_cxx.sh'))
    sdist = fetch_sdist(python, cache, env)
    work = tempfile.mkdtemp(prefix='mmcv-build-', dir=key_dir)
    try:
        with tarfile.open(sdist) as tar:
            tar.extractall(work, filter='data')
        src = osp.join(work, f'mmcv-{MMCV_VERSION}')
        env['MMATTN_PCH_DIR'] = osp.join(work, 'pch')
        setup_py = osp.join(src, 'setup.py')
        with open(setup_py) as f:
            patched = patch_setup_py(f.read())
        with open(setup_py, 'w') as f:
            f.write(patched)
        with open(osp.join(src, 'mmcv', BUILD_INFO_MODULE), 'w') as f:
            f.write(build_info_source(info))
        log_path = osp.join(key_dir, 'build.log')
        log(f'compiling mmcv {MMCV_VERSION} with '
            f"{'CUDA (' + info['cuda_arch_list'] + ')' if info['cuda_ops'] else 'CPU'}"
            f" ops, -std={info['cxx_std']}, {env['MAX_JOBS']} jobs; "
            f'compiler output: {log_path}')
        stop = threading.Event()
        reporter = threading.Thread(
            target=report_progress, daemon=True,
            args=(log_path, stop,
                  float(os.environ.get('MMATTN_PROGRESS_SECONDS', 60))))
        reporter.start()
        start = time.time()
        try:
            run([python, '-m', 'pip', 'wheel', '-v', '--no-deps',
                 '--no-build-isolation', '--no-cache-dir', src, '-w', work],
                env=env, what='mmcv build', log_path=log_path)
        finally:
            stop.set()
        minutes = (time.time() - start) / 60
        built = glob.glob(osp.join(work, f'mmcv-{MMCV_VERSION}-*.whl'))
        wheel = osp.join(key_dir, osp.basename(built[0]))
        os.replace(built[0], wheel)
        with open(osp.join(key_dir, 'build.json'), 'w') as f:
            json.dump(dict(info, build_minutes=round(minutes, 1)), f,
                      indent=2)
        log(f'built {wheel} in {minutes:.1f} min')
        return wheel
    finally:
        shutil.rmtree(work, ignore_errors=True)


def install(wheel, python=sys.executable):
    run([python, '-m', 'pip', 'install', '--no-cache-dir', '--no-deps',
         '--force-reinstall', wheel], what=f'install of {wheel}')
    log(f'installed {osp.basename(wheel)}')


def installed_fit(info, environ):
    """Why the installed mmcv already serves this plan (a string), or None.

    An mmcv built by this script fits when it was built for this torch and
    for the same ops (CUDA or CPU, the same architectures); one built
    elsewhere fits when its ops load and tools/check_install.py finds nothing
    wrong with them for this torch."""
    try:
        from importlib import metadata
        if metadata.version('mmcv') != MMCV_VERSION:
            return None
        import check_install  # beside this file
        ext = check_install.mmcv_ext_facts()
    except Exception:  # not installed, or its ops do not load
        return None
    if check_install.mmcv_build_problems(check_install.torch_facts(), ext,
                                         environ):
        return None
    build = ext['build']
    if build is None:
        return 'an mmcv built elsewhere whose ops load and fit this torch'
    # its torch is this one (mmcv_build_problems compared the record)
    if build['cuda_ops'] == info['cuda_ops'] and (
            not info['cuda_ops'] or
            build['cuda_arch_list'] == info['cuda_arch_list']):
        return 'the mmcv this script built for this torch and these ops'
    return None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument('--print-plan', action='store_true',
                        help='print the build decided for this environment '
                        '(JSON) and exit')
    action.add_argument('--install', action='store_true',
                        help='build or reuse the wheel, then install it')
    action.add_argument('--out', metavar='DIR',
                        help='build or reuse the wheel and copy it to DIR')
    ops = parser.add_mutually_exclusive_group()
    ops.add_argument('--cuda-ops', action='store_true',
                     help='CUDA ops (as MMATTN_CUDA_OPS=1)')
    ops.add_argument('--cpu-ops', action='store_true',
                     help='CPU ops only (as MMATTN_CUDA_OPS=0)')
    parser.add_argument('--keep-fitting', action='store_true',
                        help='with --install: keep an installed mmcv that '
                        'already fits this torch and these ops')
    parser.add_argument('--arch-list', metavar='"8.0;9.0"',
                        help='CUDA architectures (as TORCH_CUDA_ARCH_LIST)')
    parser.add_argument('--jobs', type=int, metavar='N',
                        help='parallel compiles (default: MAX_JOBS, else '
                        'the number of cores)')
    parser.add_argument('--cache', metavar='DIR',
                        help='wheel cache (default: $MMATTN_WHEEL_CACHE, '
                        'else ~/.cache/mmattn/wheels)')
    args = parser.parse_args(argv)
    if args.jobs is not None and args.jobs < 1:
        parser.error(f'--jobs: expected a whole number >= 1, got {args.jobs}')
    if args.keep_fitting and not args.install:
        parser.error('--keep-fitting goes with --install')
    if args.arch_list is not None:
        if args.cpu_ops:
            parser.error('--arch-list goes with CUDA ops, not --cpu-ops')
        if not re.fullmatch(r'\d+\.\d+(\+PTX)?([; ]\d+\.\d+(\+PTX)?)*',
                            args.arch_list):
            parser.error(f'--arch-list: expected compute capabilities such '
                         f'as "8.0;8.6;9.0+PTX", got {args.arch_list!r}')
    return args


def main(argv=None):
    args = parse_args(argv)
    environ = dict(os.environ)
    if args.cuda_ops:
        environ['MMATTN_CUDA_OPS'] = '1'
    if args.cpu_ops:
        environ['MMATTN_CUDA_OPS'] = '0'
    if args.arch_list:
        environ['TORCH_CUDA_ARCH_LIST'] = args.arch_list
    try:
        info = plan(environ)
        if args.print_plan:
            print(json.dumps(info, indent=2))
            return 0
        cache = args.cache or environ.get('MMATTN_WHEEL_CACHE') or osp.join(
            environ.get('XDG_CACHE_HOME') or osp.expanduser('~/.cache'),
            'mmattn', 'wheels')
        if args.keep_fitting:
            fit = installed_fit(info, environ)
            if fit:
                log(f'keeping the installed mmcv: {fit}')
                return 0
        log(f"mmcv for torch {info['torch_version']}: "
            f"{'CUDA' if info['cuda_ops'] else 'CPU'} ops "
            f"({info['cuda_ops_reason']}), -std={info['cxx_std']}")
        wheel = build(info, cache, jobs=args.jobs)
        if args.install:
            install(wheel)
        else:
            os.makedirs(args.out, exist_ok=True)
            shutil.copy(wheel, args.out)
            log(f'copied to {args.out}')
    except BuildError as err:
        print(f'[mmattn mmcv] FAILED: {err}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
