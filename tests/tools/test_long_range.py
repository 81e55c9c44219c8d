"""The long-range benchmark's properties, small: the local baseline cannot
see the cue (receptive field), a global head learns the rule and the local
head does not, the swapped-cue control flips a solver's predictions, and the
tool writes its JSON, table and plots (and resumes a grid)."""
import json
import os.path as osp
import sys

import numpy as np
import pytest
import torch

from long_range import recipe as lr
from long_range import report

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'projects', 'long_range', 'tools'))

# A short run: fewer images than the recipe, same scenes, sizes and margin.
NUM_TRAIN, NUM_VAL = 400, 40


def _build(name):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmattn.registry import MODELS
    cfg = Config.fromfile(lr.seg_config(name))
    init_default_scope('mmseg')
    torch.manual_seed(0)
    return MODELS.build(cfg.model)


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('long_range'))
    lr.ensure_seg_data(root, NUM_TRAIN, NUM_VAL)
    return root


def test_local_receptive_field_is_narrower_than_the_margin():
    h, w = lr.SEG_DATA['size']
    margin = lr.SEG_DATA['margin']
    fcn = _build('fcn')
    radii = [lr.receptive_field(fcn, (h, w), (y, x))['radius']
             for y, x in ((h // 2, w // 2), (10, 120), (h - 5, w - 5))]
    assert 0 < max(radii) < margin
    # Every model shares the backbone, so every plugin-free head must add
    # global reach: the same probe sees the whole image through them.
    for name in ('spa', 'gc'):
        box = lr.receptive_field(_build(name), (h, w))['box']
        assert box == [0, 0, w, h]


def test_shape_pixels_never_see_the_bar(data_root):
    # Directly: the local model's output on every shape pixel of a real
    # image has zero gradient with respect to every bar pixel.
    split = lr.load_split(data_root, 'val', limit=2)
    fcn = _build('fcn').eval()
    for rec, img, lab in zip(split['records'], split['images'],
                             split['labels']):
        x = torch.from_numpy(img.transpose(2, 0, 1)[None].copy()).float()
        x.requires_grad_(True)
        logits = torch.nn.functional.interpolate(
            fcn._forward(x), size=lab.shape, mode='bilinear')
        shapes = torch.from_numpy((lab != 0) & (lab != 255))
        (logits * shapes).sum().backward()
        (x0, y0, x1, y1), = rec['markers'].values()
        assert x.grad[..., y0:y1, x0:x1].abs().max() == 0
        assert x.grad.abs().sum() > 0  # the probe itself works


@pytest.fixture(scope='module')
def short_runs(data_root, tmp_path_factory):
    """The local baseline and a global head (DANet's), the recipe's
    schedule on a fifth of its images."""
    split = lr.load_split(data_root, 'val')
    out = tmp_path_factory.mktemp('runs')
    return {name: lr.run_seg(name, 0, 300, data_root, str(out / name),
                             val_points=1, split=split)[0]
            for name in ('fcn', 'da')}


def test_global_head_learns_the_rule_local_head_does_not(short_runs):
    chance = 100.0 / lr.NUM_CUES
    local, global_ = short_runs['fcn'], short_runs['da']
    assert abs(local['cue_accuracy'] - chance) < 10
    assert global_['cue_accuracy'] > 80
    assert global_['mIoU'] > local['mIoU'] + 30


def test_swapped_cue_flips_the_prediction_of_a_solver(short_runs):
    # The solver follows the new colour; nothing else in the image (shape,
    # position, statistics) told it the class.
    solver, local = short_runs['da'], short_runs['fcn']
    assert solver['swapped_cue_accuracy'] > 80
    assert solver['followed_old_cue'] < 10
    # The local model cannot follow: it stays near chance either way.
    assert local['swapped_cue_accuracy'] < 100.0 / lr.NUM_CUES + 10


def test_swap_control_relabels_only_shapes(data_root):
    split = lr.load_split(data_root, 'val', limit=5)
    swapped = lr.swap_cues(split)
    classes = split['meta']['cue_classes']
    for i, rec in enumerate(split['records']):
        old = rec['cues']['angular']
        new = lr.swapped_cue(i, old)
        assert new != old
        lab, lab2 = split['labels'][i], swapped['labels'][i]
        changed = lab != lab2
        assert (lab[changed] == classes[old]).all()
        assert (lab2[changed] == classes[new]).all()
        assert changed.sum() == (lab == classes[old]).sum()


def test_cue_accuracy_counts_shape_pixels_only():
    lab = np.array([[0, 11, 11], [255, 13, 0]])
    pred = np.array([[5, 11, 2], [11, 13, 0]])
    assert lr.cue_accuracy([pred], [lab]) == pytest.approx(200 / 3)


def test_report_intervals_gap_and_time():
    recs = [dict(model='fcn', kind='local', seed=s, mIoU=m, cue_accuracy=c,
                 swapped_cue_accuracy=c, seconds_per_iter=t,
                 peak_memory_mb=10, params=1000, flops=2e9)
            for s, m, c, t in ((0, 10, 12, 0.1), (1, 14, 14, 0.3))]
    recs.append(dict(recs[0], model='gc', kind='head', mIoU=90,
                     seconds_per_iter_repeats=[0.2, 0.5, 0.3]))
    table = report.format_markdown(recs)
    assert '| mIoU [95 % CI] | Δ mIoU vs fcn |' in table
    # two seeds: the bootstrap means lie between the two values
    assert '| fcn | local | 2 | 12.0 [10.0, 14.0] | +0.0 |' in table
    # mean of the runs' own times; the median (range) of quiet repeats
    assert '| 0.200 | 10 |' in table.splitlines()[2]
    assert '| gc | head | 1 | 90.0 [90.0, 90.0] | +78.0 |' in table
    assert '| 0.300 (0.200-0.500) | 10 |' in table.splitlines()[3]


def test_summary_ranks_by_mean_with_intervals_and_costs():
    recs = [dict(model=m, kind='head', seed=s, mIoU=v, cue_accuracy=v,
                 swapped_cue_accuracy=v, seconds_per_iter=0.1,
                 peak_memory_mb=mb, params=2000, flops=1e9)
            for m, mb, vals in (('fcn', 100, (10, 12)), ('da', 150, (90, 96)))
            for s, v in enumerate(vals)]
    lines = report.format_summary(recs).splitlines()
    assert lines[0].startswith('| attention | mIoU [95 % CI] |')
    assert lines[2] == ('| DANet head (DAHead) | 93.0 [90.0, 96.0] | '
                        '93.0 [90.0, 96.0] | 2 | 2 | 1.00 | 150 |')
    assert lines[3].startswith('| none (FCN head: local baseline) | 11.0 ')


def test_tool_writes_json_table_plots_and_resumes(tmp_path, capsys):
    import long_range_benchmark as tool
    args = ['--models', 'fcn', 'spa', 'spenet', '--seeds', '0', '--iters', '4',
            '--num-train', '8', '--num-val', '4', '--data',
            str(tmp_path / 'data'), '--out', str(tmp_path / 'out')]
    tool.main(args + ['--val-points', '2'])
    out = capsys.readouterr().out
    assert out.count('[long-range] run ') == 3
    with open(tmp_path / 'out' / 'results.json') as f:
        result = json.load(f)
    assert [r['model'] for r in result['runs']] == ['fcn', 'spa', 'spenet']
    for rec in result['runs']:
        for key in ('mIoU', 'cue_accuracy', 'swapped_cue_accuracy',
                    'seconds_per_iter', 'peak_memory_mb', 'params', 'flops'):
            assert rec[key] > 0 or key.endswith(('accuracy', 'mIoU'))
        # --val-points 2 of 4 iterations: validated at 2 and 4
        assert [p['iter'] for p in rec['curve']] == [2, 4]
        assert rec['seed'] == 0
    assert result['runs'][1]['flops'] != result['runs'][0]['flops']
    assert result['meta']['data']['margin'] == lr.SEG_DATA['margin']
    table = (tmp_path / 'out' / 'results.md').read_text()
    assert table.count('\n') == 5  # header, rule, three models
    for png in ('long_range_cost.png', 'long_range_curves.png',
                'samples.png'):
        assert (tmp_path / 'out' / png).stat().st_size > 10000
    # every run done: only retimed, twice per model
    tool.main(args + ['--retime', '2', '--repeats', '2'])
    out = capsys.readouterr().out
    assert out.count('skipped') == 3 and out.count('measured alone') == 6
    with open(tmp_path / 'out' / 'results.json') as f:
        result = json.load(f)
    assert result['meta']['retimed']['iterations'] == 2
    assert result['meta']['retimed']['repeats'] == 2
    for rec in result['runs']:
        repeats = rec['seconds_per_iter_repeats']
        assert len(repeats) == 2 and rec['seconds_per_iter_grid'] > 0
        assert rec['seconds_per_iter'] == pytest.approx(np.median(repeats))
    assert ' (' in (tmp_path / 'out' / 'results.md').read_text()  # range

    # the diagnoses read the grid's own checkpoints and configs
    import diagnose
    rows = diagnose.main(['spa', '--out', str(tmp_path / 'out'), '--seeds',
                          '0', '--data', str(tmp_path / 'data'), '--json',
                          str(tmp_path / 'spa.json')])
    (row, ) = rows
    assert row['mIoU'] == result['runs'][1]['mIoU'] and row['k'] == 8
    assert len(row['images']) == 4
    for image in row['images']:
        assert image['on_bar'] + image['on_shapes'] + image[
            'on_background'] == pytest.approx(100)
        assert 0 <= image['entropy'] <= 1 and image['update'] > 0
    assert json.load(open(tmp_path / 'spa.json'))[0]['seed'] == 0
    out = capsys.readouterr().out
    assert '| spa | 0 |' in out and 'affinity decodes the cue %' in out
    (row, ) = diagnose.main(['gates', '--out', str(tmp_path / 'out'),
                             '--models', 'spenet', '--seeds', '0', '--data',
                             str(tmp_path / 'data')])
    assert len(row['gates']) == 4  # a SPEM block after each residual block
    for gate in row['gates'].values():
        # after 4 steps of lr <= 2e-3 the gates are still near their start
        assert 0 < gate['min'] <= gate['mean'] <= gate['max'] < 0.1
    assert '| (init) | | | 0.032 |' in capsys.readouterr().out
    with pytest.raises(SystemExit):  # a model without SPANet blocks
        diagnose.main(['spa', '--out', str(tmp_path / 'out'), '--models',
                       'spenet'])


def test_tool_detection_grid(tmp_path, capsys):
    import long_range_benchmark as tool
    tool.main(['--task', 'det', '--models', 'faster-rcnn', 'gc-neck',
               '--seeds', '0', '--iters', '2', '--num-train', '8',
               '--num-val', '4', '--data', str(tmp_path / 'data'), '--out',
               str(tmp_path / 'out')])
    with open(tmp_path / 'out' / 'results.json') as f:
        runs = json.load(f)['runs']
    assert [r['model'] for r in runs] == ['faster-rcnn', 'gc-neck']
    assert all(r['bbox_mAP'] >= 0 and r['params'] > 0 for r in runs)
    assert runs[1]['params'] > runs[0]['params']
    assert (tmp_path / 'out' / 'long_range_det_cost.png').exists()


def test_tool_classification_grid(tmp_path, capsys):
    import long_range_benchmark as tool
    tool.main(['--task', 'cls', '--models', 'resnet', 'spa-plugin',
               '--seeds', '0', '--iters', '2', '--num-train', '8',
               '--num-val', '4', '--data', str(tmp_path / 'data'), '--out',
               str(tmp_path / 'out')])
    with open(tmp_path / 'out' / 'results.json') as f:
        result = json.load(f)
    runs = result['runs']
    assert [r['model'] for r in runs] == ['resnet', 'spa-plugin']
    assert all(0 <= r['top1'] <= 100 and r['flops'] > 0 for r in runs)
    assert runs[1]['params'] > runs[0]['params']
    assert result['meta']['num_train'] == 8
    assert (tmp_path / 'out' / 'long_range_cls_cost.png').exists()
    table = (tmp_path / 'out' / 'results.md').read_text()
    assert '| top-1 % [95 % CI] |' in table


def test_tool_refuses_unknown_models(capsys):
    import long_range_benchmark as tool
    with pytest.raises(SystemExit):
        tool.main(['--models', 'fcn', 'transformer'])
    assert 'unknown for --task seg: transformer' in capsys.readouterr().err


def test_demo_prints_metrics_and_paints(tmp_path, capsys):
    import demo
    rec = demo.main(['--iters', '2', '--num-train', '8', '--num-val', '4',
                     '--data', str(tmp_path / 'data'), '--out',
                     str(tmp_path / 'demo')])
    out = capsys.readouterr().out
    assert f'mIoU {rec["mIoU"]:.2f}, cue accuracy' in out
    assert 'swapped-cue accuracy' in out
    pictures = tmp_path / 'demo' / 'predictions'
    assert len(list(pictures.glob('val_*_swapped_cue.png'))) == 4
    import numpy as np
    from long_range import pictures as drawing
    from PIL import Image
    overview = np.asarray(Image.open(pictures / 'overview.png'))
    # 4 images and their swapped versions, each image | truth | prediction
    width = 3 * 256 + 2 * 4
    assert overview.shape[1] == width
    # two header lines, then each image above its swapped version (3 px
    # apart), then the legend; 8 px between the parts
    meta = lr.load_split(str(tmp_path / 'data'), 'val')['meta']
    legend = drawing.cue_legend(width, meta).shape[0]
    assert overview.shape[0] == 2 * 16 + 4 * (2 * 96 + 3) + legend + 6 * 8
    # the ignored pixels of the ground truth are hatched, not white
    truth = np.asarray(Image.open(pictures / 'val_000.png'))[:, 260:516]
    label = lr.load_split(str(tmp_path / 'data'), 'val')['labels'][0]
    ignored = truth[label == 255]
    assert len(ignored) and not (ignored == 255).all(axis=1).any()


def test_documented_command_writes_the_benchmarks_data(tmp_path):
    """The make_synthetic.py command in the baseline config's header writes
    byte for byte the images and labels the benchmark trains and scores on
    (a few indices: an image does not depend on the split sizes)."""
    import glob
    import re
    import shlex

    sys.path.insert(0, osp.join(REPO, 'tools', 'dataset_converters'))
    import make_synthetic
    header = open(lr.seg_config('fcn')).read().split('\n_base_')[0]
    command = ' '.join(line.lstrip('# ') for line in header.splitlines())
    command = re.search(r'make_synthetic\.py (.*?)\)', command).group(1)
    argv = shlex.split(command)
    args = make_synthetic.parse_args(argv)
    # the documented command is the recipe
    assert args.format == 'cityscapes'
    assert tuple(args.size) == tuple(lr.SEG_DATA['size'])
    assert args.num_train == lr.SEG_DATA['num_train']
    assert args.num_val == lr.SEG_DATA['num_val']
    assert args.margin == lr.SEG_DATA['margin']
    assert args.seed == lr.SEG_DATA['seed']
    assert args.layout == lr.SEG_DATA['layout']
    assert args.label_cue_in_train == lr.SEG_DATA['label_cue_in_train']
    # the same command with 3 + 2 images, into tmp_path
    small, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in ('--out', '--num-train', '--num-val'):
            skip = True
            continue
        small.append(arg)
    documented = str(tmp_path / 'documented')
    make_synthetic.main(small + ['--out', documented, '--num-train', '3',
                                 '--num-val', '2'])
    recipe = str(tmp_path / 'recipe')
    lr.ensure_seg_data(recipe, 3, 2)
    files = sorted(glob.glob(osp.join(recipe, '*', '*', '*', '*.png')))
    assert len(files) == 2 * 5  # image and label map of 5 images
    for path in files:
        twin = osp.join(documented, osp.relpath(path, recipe))
        with open(path, 'rb') as a, open(twin, 'rb') as b:
            assert a.read() == b.read(), osp.relpath(path, recipe)


def test_demo_compares_with_the_baseline_at_its_own_budget(tmp_path):
    import demo
    runs = [dict(model='fcn', iters=300, seed=0, mIoU=12.0, cue_accuracy=6.0),
            dict(model='fcn', iters=600, seed=0, mIoU=14.0, cue_accuracy=7.0),
            dict(model='fcn', iters=600, seed=1, mIoU=16.0, cue_accuracy=9.0)]
    path = tmp_path / 'runs.json'
    path.write_text(json.dumps(dict(runs=runs)))
    at_600 = demo.published_figures('fcn', 600, paths=[str(path)])
    assert at_600 == dict(seeds=2, iters=600, mIoU=15.0, cue_accuracy=8.0)
    assert demo.published_figures('fcn', 900, paths=[str(path)]) is None
    # the published files hold the baseline at the demo's default budget
    default = demo.parse_args([]).iters
    published = demo.published_figures('fcn', default)
    assert published is not None and published['iters'] == default


def test_replot_redraws_the_published_grid_without_training(tmp_path,
                                                            capsys):
    import shutil

    import long_range_benchmark as tool
    shutil.copy(osp.join(REPO, 'docs', 'long_range', 'cls_results.json'),
                tmp_path / 'results.json')
    before = (tmp_path / 'results.json').read_bytes()
    tool.main(['--task', 'cls', '--replot', '--out', str(tmp_path)])
    assert (tmp_path / 'long_range_cls_cost.png').exists()
    assert (tmp_path / 'results.json').read_bytes() == before
    assert '| resnet | local | 3 |' in capsys.readouterr().out
    with pytest.raises(SystemExit, match="holds task 'cls', not --task "
                       "'seg'"):
        tool.main(['--replot', '--out', str(tmp_path)])
    with pytest.raises(SystemExit, match='no .*results.json to redraw'):
        tool.main(['--replot', '--out', str(tmp_path / 'none')])


def test_context_sweep_writes_one_dataset_per_value_and_resumes(tmp_path,
                                                                 capsys):
    import context_sweep as tool
    args = ['--axis', 'cue-width', '--values', '4', '8', '--models', 'fcn',
            '--seeds', '0', '--iters', '2', '--num-train', '4', '--num-val',
            '4', '--data', str(tmp_path / 'data'), '--out',
            str(tmp_path / 'out')]
    records = tool.main(args)
    assert [(r['model'], r['value']) for r in records] == [('fcn', 4),
                                                           ('fcn', 8)]
    for width in (4, 8):
        meta = json.load(open(tmp_path / f'data_cuewidth{width}' /
                              'synthetic_meta.json'))
        assert meta['marker_side'] == width and meta['margin'] == 96
        (box, ) = meta['splits']['val'][0]['markers'].values()
        assert box[2] - box[0] == width
    table = (tmp_path / 'out' / 'sweep.md').read_text()
    assert '| model | cue-width 4 px | cue-width 8 px |' in table
    assert (tmp_path / 'out' / 'sweep.png').stat().st_size > 10000
    capsys.readouterr()
    tool.main(args)  # both runs in sweep.json: nothing trains
    assert '[sweep]' not in capsys.readouterr().out
    # a value the --data folder has is read from there, not written again
    assert tool._data_root(str(tmp_path / 'data_cuewidth4'), 'cue-width',
                           4) == str(tmp_path / 'data_cuewidth4')
    assert tool._data_root(str(tmp_path / 'data_cuewidth4'), 'margin',
                           96) == str(tmp_path / 'data_cuewidth4')
    assert tool._data_root(str(tmp_path / 'data_cuewidth4'), 'cue-width',
                           8).endswith('data_cuewidth4_cuewidth8')
    # --reuse: the benchmark's runs on --data stand for --data's own value
    grid = tmp_path / 'grid.json'
    lr.save_records(str(grid), [dict(records[0], cue_accuracy=55.0)])
    again = tool.main(['--axis', 'cue-width', '--values', '4', '--models',
                       'fcn', '--seeds', '0', '--iters', '2', '--data',
                       str(tmp_path / 'data_cuewidth4'), '--reuse',
                       str(grid), '--out', str(tmp_path / 'reused')])
    assert [(r['value'], r['cue_accuracy']) for r in again] == [(4, 55.0)]
    assert json.load(open(tmp_path / 'reused' / 'sweep.json'))['runs'][0][
        'reused'] == str(grid)
    assert '[sweep]' not in capsys.readouterr().out  # nothing trained
    with pytest.raises(SystemExit):
        tool.main(args[:-2] + ['--out', str(tmp_path / 'x'), '--models',
                               'nope'])
