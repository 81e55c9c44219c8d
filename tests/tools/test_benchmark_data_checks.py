"""tools/analysis_tools/benchmark_data_checks.py: the three ways load the
same samples, and the table states each against stock."""
import os.path as osp
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis_tools'))

import benchmark_data_checks as bench  # noqa: E402


def test_tiny_run_prints_each_way_against_stock(capsys):
    rates = bench.main(['--num-images', '4', '--repeats', '1'])
    assert set(rates) == set(bench.WAYS)
    assert all(len(r) == 1 and r[0] > 0 for r in rates.values())
    out = capsys.readouterr().out
    assert '4 images per pass' in out
    assert [line.split()[-1] for line in out.splitlines()
            if line.startswith('stock')] == ['1.000']
    import mmattn.runtime
    assert mmattn.runtime.is_installed()  # left as the config asked


def test_checked_pipeline_uses_the_registered_loaders():
    from mmattn.datasets.checked_loading import checked_pipeline
    stock = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
             dict(type='RandomFlip', prob=0.5)]
    steps = checked_pipeline(stock, num_classes=19)
    assert [s['type'] for s in steps] == [
        'mmattn.CheckedLoadImageFromFile', 'mmattn.CheckedLoadAnnotations',
        'RandomFlip']
    assert steps[1]['num_classes'] == 19
    assert stock[0]['type'] == 'LoadImageFromFile'  # a copy
    # without num_classes (a detection pipeline) LoadAnnotations stays
    assert [s['type'] for s in checked_pipeline(stock)][:2] == [
        'mmattn.CheckedLoadImageFromFile', 'LoadAnnotations']


def test_bad_arguments_are_named(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match=f'--data-root {tmp_path} '
                       'has no leftImg8bit/train'):
        bench.main(['--data-root', str(tmp_path)])
    with pytest.raises(SystemExit):
        bench.main(['--repeats', '0'])
    assert '--repeats must be >= 1' in capsys.readouterr().err
