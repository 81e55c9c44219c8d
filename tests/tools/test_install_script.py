"""tools/install.sh: the mmcv build's progress loop prints no false FAILED
line (a grep that finds nothing in the young build log used to trigger the
script's ERR trap inside the background loop, while the build went on)."""
import os.path as osp
import subprocess

from conftest import ROOT

SCRIPT = osp.join(ROOT, 'tools', 'install.sh')


def _function(name):
    """The text of one shell function of install.sh."""
    lines = open(SCRIPT).read().splitlines()
    start = lines.index(f'{name}() {{')
    end = lines.index('}', start)
    return '\n'.join(lines[start:end + 1])


def test_progress_loop_under_the_scripts_error_trap(tmp_path):
    log = tmp_path / 'build.log'
    shell = f'''
set -Eeuo pipefail
trap 'echo "FAILED (exit $?)"' ERR
log() {{ echo "[mmattn install] $*"; }}
{_function('report_build_progress')}
MMATTN_PROGRESS_SECONDS=0.2 report_build_progress {log} &
sleep 0.7
echo '[3/120] c++ -c box_iou.cpp' > {log}
sleep 0.7
kill $!
echo finished
'''
    done = subprocess.run(['bash', '-c', shell], capture_output=True,
                          text=True, timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert 'FAILED' not in output
    assert 'mmcv build: no source yet compiled' in output
    assert 'mmcv build: [3/120] compiled' in output
    assert output.rstrip().endswith('finished')
