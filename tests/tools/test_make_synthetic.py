"""Tests of the synthetic long-range-context datasets and their CLI.

The CLI is run once per format as a subprocess; the files it writes are
then checked on their own (layout, label values, the marker rule, COCO
consistency) and read back through the real mmseg ``CityscapesDataset`` and
mmdet ``CocoDataset`` / ``CocoMetric``.
"""
import hashlib
import json
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLI = osp.join(REPO, 'tools', 'dataset_converters', 'make_synthetic.py')
sys.path.insert(0, osp.dirname(CLI))


from mmattn.datasets import synthetic as syn  # noqa: E402
from mmattn.datasets import (CITYSCAPES_CLASSES, CITYSCAPES_CUE_CLASSES,  # noqa: E402,E501
                             COCO_CATEGORIES, COCO_CUE_CATEGORIES,
                             IGNORE_INDEX, MARKER_PALETTE, META_FILE,
                             decode_marker, make_cityscapes, make_coco,
                             parse_size)

CS_IDS = {0, *CITYSCAPES_CUE_CLASSES}
CS_STEM = re.compile(r'^(aachen|bochum|frankfurt|lindau)_\d{6}_\d{6}$')


def _run_cli(*args):
    """Run the CLI with this interpreter; return the CompletedProcess."""
    return subprocess.run([sys.executable, CLI, *args],
                          capture_output=True,
                          text=True,
                          cwd=REPO,
                          timeout=120)


@pytest.fixture(scope='module')
def cs_root(tmp_path_factory):
    """Cityscapes-layout dataset written by the CLI (corner markers)."""
    root = str(tmp_path_factory.mktemp('cityscapes'))
    proc = _run_cli('--format', 'cityscapes', '--out', root, '--layout',
                    'corners')
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary['num_images'] == dict(train=8, val=4)
    assert summary['size'] == [128, 256]
    assert set(summary['class_ids']) == CS_IDS
    return root


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory):
    """COCO-layout dataset written by the CLI (corner markers)."""
    root = str(tmp_path_factory.mktemp('coco'))
    proc = _run_cli('--format', 'coco', '--out', root, '--layout', 'corners')
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary['num_images'] == dict(train=4, val=2)
    assert summary['size'] == [128, 128]
    return root


def _meta(root):
    with open(osp.join(root, META_FILE)) as f:
        return json.load(f)


def _tree_digest(root):
    """Map every file below ``root`` (relative path) to its sha256."""
    digest = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                digest[osp.relpath(path, root)] = hashlib.sha256(
                    f.read()).hexdigest()
    return digest


def _decode_corners(image, markers):
    """Palette index of each marker, from the mean of its central pixels.

    The border of a marker is skipped because JPEG blurs it into the
    background.
    """
    out = {}
    for corner, (x0, y0, x1, y1) in markers.items():
        q = max(1, (x1 - x0) // 4)
        patch = image[y0 + q:y1 - q, x0 + q:x1 - q].reshape(-1, 3)
        out[corner] = decode_marker(patch.mean(axis=0))
    return out


def _chebyshev_to_box(ys, xs, box):
    """Chebyshev distance of pixels to a box ``[x0, y0, x1, y1)``."""
    x0, y0, x1, y1 = box
    dx = np.maximum(np.maximum(x0 - xs, xs - (x1 - 1)), 0)
    dy = np.maximum(np.maximum(y0 - ys, ys - (y1 - 1)), 0)
    return np.maximum(dx, dy)


# ---------------------------------------------------------------- pure files
def test_cityscapes_layout_and_labels(cs_root):
    for split, count, cities in (('train', 8, {'aachen', 'bochum'}),
                                 ('val', 4, {'frankfurt', 'lindau'})):
        img_dir = osp.join(cs_root, 'leftImg8bit', split)
        assert set(os.listdir(img_dir)) == cities
        imgs = sorted(
            osp.join(city, name) for city in cities
            for name in os.listdir(osp.join(img_dir, city)))
        assert len(imgs) == count
        seen = set()
        for rel in imgs:
            assert rel.endswith('_leftImg8bit.png')
            stem = osp.basename(rel)[:-len('_leftImg8bit.png')]
            assert CS_STEM.match(stem), stem
            assert stem.startswith(osp.dirname(rel) + '_')
            seg = osp.join(cs_root, 'gtFine', split, osp.dirname(rel),
                           stem + '_gtFine_labelTrainIds.png')
            img = Image.open(osp.join(img_dir, rel))
            lab = Image.open(seg)
            assert img.mode == 'RGB' and img.size == (256, 128)
            assert lab.mode == 'L' and lab.size == (256, 128)
            values = set(np.unique(np.asarray(lab)).tolist())
            assert values <= CS_IDS | {IGNORE_INDEX}
            assert {0, IGNORE_INDEX} <= values
            seen |= values
        # Several classes appear, so mIoU over them is meaningful.
        assert len(seen - {0, IGNORE_INDEX}) >= 3


def test_cityscapes_marker_rule(cs_root):
    meta = _meta(cs_root)
    margin = meta['margin']
    assert meta['background_class'] == 0
    for split in ('train', 'val'):
        for rec in meta['splits'][split]:
            image = np.asarray(Image.open(osp.join(cs_root, rec['img_path'])))
            label = np.asarray(
                Image.open(osp.join(cs_root, rec['seg_map_path'])))
            # Decode the cue from the pixels, independent of the meta file.
            idx = _decode_corners(image, rec['markers'])
            assert idx['top_left'] == idx['top_right']
            assert idx['bottom_left'] == idx['bottom_right']
            cls = dict(angular=CITYSCAPES_CUE_CLASSES[idx['top_left']],
                       round=CITYSCAPES_CUE_CLASSES[idx['bottom_left']])
            assert rec['classes'] == cls
            groups = {s['group'] for s in rec['shapes']}
            assert groups == {'angular', 'round'}  # both cues always matter
            for shape in rec['shapes']:
                x, y = (int(v) for v in shape['centroid'])
                assert label[y, x] == cls[shape['group']]
            assert set(np.unique(label).tolist()) == (
                {0, IGNORE_INDEX} | set(cls.values()))
            # Markers are ignored and every scored shape pixel is far away.
            ys, xs = np.nonzero((label != 0) & (label != IGNORE_INDEX))
            for box in rec['markers'].values():
                x0, y0, x1, y1 = box
                assert (label[y0:y1, x0:x1] == IGNORE_INDEX).all()
                assert _chebyshev_to_box(ys, xs, box).min() >= margin


def test_coco_json_consistent(coco_root):
    image_ids = set()
    for split, count in (('train', 4), ('val', 2)):
        with open(osp.join(coco_root, 'annotations',
                           f'instances_{split}2017.json')) as f:
            coco = json.load(f)
        cats = {c['id']: c['name'] for c in coco['categories']}
        assert len(cats) == 80
        assert cats[1] == 'person' and cats[3] == 'car'
        assert cats[13] == 'stop sign' and cats[90] == 'toothbrush'
        assert len(coco['images']) == count
        sizes = {}
        for img in coco['images']:
            assert img['file_name'] == f"{img['id']:012d}.jpg"
            pil = Image.open(osp.join(coco_root, f'{split}2017',
                                      img['file_name']))
            assert pil.size == (img['width'], img['height']) == (128, 128)
            sizes[img['id']] = (img['width'], img['height'])
        assert not image_ids & set(sizes)  # ids unique across splits
        image_ids |= set(sizes)
        ann_ids = [a['id'] for a in coco['annotations']]
        assert len(set(ann_ids)) == len(ann_ids)
        assert {a['image_id'] for a in coco['annotations']} == set(sizes)
        for ann in coco['annotations']:
            assert ann['category_id'] in COCO_CUE_CATEGORIES
            assert ann['iscrowd'] == 0
            (poly, ) = ann['segmentation']
            pts = np.asarray(poly).reshape(-1, 2)
            x, y, w, h = ann['bbox']
            assert w > 0 and h > 0 and ann['area'] > 0
            assert ann['area'] <= w * h + 1e-6
            eps = 1e-6
            assert (pts[:, 0] >= x - eps).all()
            assert (pts[:, 0] <= x + w + eps).all()
            assert (pts[:, 1] >= y - eps).all()
            assert (pts[:, 1] <= y + h + eps).all()
            # Tight box: the polygon touches all four sides.
            assert np.isclose(pts[:, 0].min(), x)
            assert np.isclose(pts[:, 0].max(), x + w, atol=0.011)
            width, height = sizes[ann['image_id']]
            assert x >= 0 and y >= 0 and x + w <= width
            assert y + h <= height


def test_coco_marker_rule(coco_root):
    meta = _meta(coco_root)
    for split in ('train', 'val'):
        with open(osp.join(coco_root, 'annotations',
                           f'instances_{split}2017.json')) as f:
            coco = json.load(f)
        recs = {r['image_id']: r for r in meta['splits'][split]}
        for img in coco['images']:
            pixels = np.asarray(
                Image.open(
                    osp.join(coco_root, f'{split}2017', img['file_name'])))
            idx = _decode_corners(pixels, recs[img['id']]['markers'])
            assert idx['top_left'] == idx['top_right']
            assert idx['bottom_left'] == idx['bottom_right']
            want = dict(angular=COCO_CUE_CATEGORIES[idx['top_left']],
                        round=COCO_CUE_CATEGORIES[idx['bottom_left']])
            anns = [a for a in coco['annotations'] if a['image_id'] ==
                    img['id']]
            assert len(anns) == len(recs[img['id']]['shapes'])
            for ann in anns:
                # The group is read off the polygon itself: triangles and
                # rectangles have 3 or 4 vertices, ellipses 32.
                n = len(ann['segmentation'][0]) // 2
                group = 'angular' if n in (3, 4) else 'round'
                assert ann['category_id'] == want[group]


def test_coco_gt_as_detections_scores_map_one(coco_root):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    gt = COCO(osp.join(coco_root, 'annotations', 'instances_train2017.json'))
    anns = gt.loadAnns(gt.getAnnIds())
    for iou_type in ('bbox', 'segm'):
        dets = []
        for ann in anns:
            det = dict(image_id=ann['image_id'],
                       category_id=ann['category_id'], score=1.0)
            if iou_type == 'bbox':
                det['bbox'] = ann['bbox']
            else:
                det['segmentation'] = gt.annToRLE(ann)
            dets.append(det)
        ev = COCOeval(gt, gt.loadRes(dets), iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        assert ev.stats[0] == pytest.approx(1.0)


# ------------------------------------------------------ determinism and CLI
def test_same_seed_same_bytes_other_seed_differs(tmp_path, cs_root,
                                                 coco_root):
    for make, ref in ((make_cityscapes, cs_root), (make_coco, coco_root)):
        name = make.__name__
        make(str(tmp_path / f'{name}_a'), seed=0, layout='corners')
        make(str(tmp_path / f'{name}_b'), seed=0, layout='corners')
        make(str(tmp_path / f'{name}_c'), seed=1, layout='corners')
        a = _tree_digest(str(tmp_path / f'{name}_a'))
        b = _tree_digest(str(tmp_path / f'{name}_b'))
        c = _tree_digest(str(tmp_path / f'{name}_c'))
        assert a == b
        # The CLI writes the same bytes as the API.
        assert a == _tree_digest(ref)
        assert a.keys() == c.keys()
        images = [k for k in a if k.endswith(('.png', '.jpg'))]
        assert images and all(a[k] != c[k] for k in images)


def test_image_does_not_depend_on_split_size(tmp_path):
    # Growing a split keeps its first images: each has its own stream.
    small = make_cityscapes(str(tmp_path / 'small'), num_train=2, num_val=1)
    large = make_cityscapes(str(tmp_path / 'large'), num_train=3, num_val=1)
    a = _tree_digest(small['out_dir'])
    b = _tree_digest(large['out_dir'])
    common = [k for k in a if k != META_FILE]
    assert all(a[k] == b[k] for k in common)
    assert len(b) == len(a) + 2


def test_existing_output_needs_overwrite(tmp_path):
    out = str(tmp_path / 'cs')
    make_cityscapes(out, num_train=4, num_val=1, size=(64, 64))
    with pytest.raises(FileExistsError):
        make_cityscapes(out, num_train=1, num_val=1, size=(64, 64))
    make_cityscapes(out, num_train=1, num_val=1, size=(64, 64),
                    overwrite=True)
    # No stale images of the earlier, larger run remain.
    pngs = [k for k in _tree_digest(out) if k.endswith('_leftImg8bit.png')]
    assert len(pngs) == 2
    proc = _run_cli('--format', 'cityscapes', '--out', out)
    assert proc.returncode != 0 and 'overwrite' in proc.stderr


def test_custom_size_and_counts(tmp_path):
    out = str(tmp_path / 'coco')
    proc = _run_cli('--format', 'coco', '--out', out, '--num-train', '2',
                    '--num-val', '1', '--size', '96x160', '--seed', '3')
    assert proc.returncode == 0, proc.stderr
    with open(osp.join(out, 'annotations', 'instances_val2017.json')) as f:
        val = json.load(f)
    assert [(i['id'], i['height'], i['width']) for i in val['images']] == [
        (3, 96, 160)
    ]
    assert Image.open(osp.join(out, 'val2017', '000000000003.jpg')).size == (
        160, 96)


@pytest.mark.parametrize(
    'bad', [
        '128', '128x', 'x128', '0x128', '32x256', '128x256x3', 'axb',
        '-128x256', '128X256', '128 x256', '128x99999'
    ])
def test_bad_size_is_an_argparse_error(tmp_path, bad, capsys):
    import make_synthetic
    with pytest.raises(ValueError):
        parse_size(bad)
    with pytest.raises(SystemExit) as exit_info:
        make_synthetic.main(['--format', 'cityscapes', '--out',
                             str(tmp_path), f'--size={bad}'])
    assert exit_info.value.code == 2
    assert 'argument --size' in capsys.readouterr().err
    assert not os.listdir(tmp_path)  # nothing written


def test_bad_size_exits_2_from_the_command_line(tmp_path):
    proc = _run_cli('--format', 'coco', '--out', str(tmp_path), '--size=9x9')
    assert proc.returncode == 2
    assert 'argument --size' in proc.stderr
    assert not os.listdir(tmp_path)


def test_parse_size_and_api_validation(tmp_path):
    assert parse_size('128x256') == (128, 256)
    with pytest.raises(ValueError):
        make_coco(str(tmp_path / 'x'), size=(128, 8))
    with pytest.raises(ValueError):
        make_coco(str(tmp_path / 'x'), num_train=-1)
    assert len(MARKER_PALETTE) == len(CITYSCAPES_CUE_CLASSES)
    assert len(MARKER_PALETTE) == len(COCO_CUE_CATEGORIES)
    for i, rgb in enumerate(MARKER_PALETTE):
        assert decode_marker(np.asarray(rgb) + 20 * (-1)**i) == i
    assert len(CITYSCAPES_CLASSES) == 19 and len(COCO_CATEGORIES) == 80


# ------------------------------------------------------ side-bar layout
@pytest.fixture(scope='module')
def bar_root(tmp_path_factory):
    """Cityscapes-layout dataset with the side-bar cue (the CLI default)."""
    root = str(tmp_path_factory.mktemp('bar'))
    proc = _run_cli('--format', 'cityscapes', '--out', root, '--num-train',
                    '12', '--num-val', '4', '--size', '96x256')
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary['layout'] == 'side-bar'
    assert summary['margin'] == int(0.4 * (256 - 96 // 6))
    return root


def test_side_bar_rule_and_distance(bar_root):
    meta = _meta(bar_root)
    assert meta['layout'] == 'side-bar' and meta['version'] == 2
    margin, sides = meta['margin'], set()
    for split in ('train', 'val'):
        for rec in meta['splits'][split]:
            image = np.asarray(Image.open(osp.join(bar_root,
                                                   rec['img_path'])))
            label = np.asarray(
                Image.open(osp.join(bar_root, rec['seg_map_path'])))
            (side, box), = rec['markers'].items()
            sides.add(side)
            x0, y0, x1, y1 = box
            assert (y0, y1) == (0, 96)  # the bar spans the whole height
            assert x0 == 0 if side == 'left' else x1 == 256
            # The class of every shape is the bar's colour, read off pixels.
            cue = decode_marker(image[y0:y1, x0:x1].reshape(-1, 3).mean(0))
            assert rec['cues'] == dict(angular=cue, round=cue)
            scored = (label != 0) & (label != IGNORE_INDEX)
            assert set(np.unique(label[scored]).tolist()) == {
                CITYSCAPES_CUE_CLASSES[cue]}
            assert (label[y0:y1, x0:x1] == IGNORE_INDEX).all()
            ys, xs = np.nonzero(scored)
            assert _chebyshev_to_box(ys, xs, box).min() >= margin
    assert sides == {'left', 'right'}  # position says nothing of the class


def test_repaint_cues_changes_only_the_bar(bar_root):
    from mmattn.datasets import repaint_cues
    rec = _meta(bar_root)['splits']['val'][0]
    image = np.asarray(Image.open(osp.join(bar_root, rec['img_path'])))
    new = (rec['cues']['angular'] + 3) % len(MARKER_PALETTE)
    out = repaint_cues(image, rec['markers'], new)
    (x0, y0, x1, y1), = rec['markers'].values()
    assert (out[y0:y1, x0:x1] == MARKER_PALETTE[new]).all()
    changed = (out != image).any(-1)
    changed[y0:y1, x0:x1] = False
    assert not changed.any()
    assert (image == np.asarray(Image.open(
        osp.join(bar_root, rec['img_path'])))).all()  # input not modified


def test_side_bar_margin_is_validated(tmp_path):
    # 256 - 16 (bar) - 220 leaves 20 px, less than a third of the height
    with pytest.raises(ValueError, match='margin=220'):
        make_cityscapes(str(tmp_path / 'a'), size=(96, 256), margin=220)
    with pytest.raises(ValueError, match='margin must be'):
        make_cityscapes(str(tmp_path / 'b'), margin=-1)
    with pytest.raises(ValueError, match='layout must be one of'):
        make_coco(str(tmp_path / 'c'), layout='diagonal')
    assert not os.listdir(tmp_path)  # nothing written before the check
    proc = _run_cli('--format', 'coco', '--out', str(tmp_path / 'd'),
                    '--size', '96x128', '--margin', '120')
    assert proc.returncode != 0 and 'margin=120' in proc.stderr
    summary = make_coco(str(tmp_path / 'e'), num_train=2, num_val=1,
                        size=(96, 256), margin=96)
    assert summary['margin'] == 96 and summary['layout'] == 'side-bar'



def test_cue_width_sets_the_bar_and_keeps_the_margin(tmp_path):
    """The context sweep's axis: a 4 px bar, painted 4 px wide, recorded in
    the meta file, with every shape still ``margin`` away from it."""
    root = str(tmp_path / 'narrow')
    proc = _run_cli('--format', 'cityscapes', '--out', root, '--num-train',
                    '3', '--num-val', '3', '--size', '96x256', '--margin',
                    '96', '--cue-width', '4', '--label-cue-in-train')
    assert proc.returncode == 0, proc.stderr
    meta = _meta(root)
    assert meta['marker_side'] == 4 and meta['margin'] == 96
    for split in ('train', 'val'):
        for rec in meta['splits'][split]:
            (side, box), = rec['markers'].items()
            assert box[2] - box[0] == 4
            image = np.asarray(Image.open(osp.join(root, rec['img_path'])))
            label = np.asarray(Image.open(osp.join(root,
                                                   rec['seg_map_path'])))
            cue = decode_marker(image[:, box[0]:box[2]].reshape(-1, 3)
                                .mean(0))
            assert rec['cues']['angular'] == cue
            # exactly 4 columns carry the bar's colour: the next one is noise
            beside = box[2] if side == 'left' else box[0] - 1
            assert (image[:, box[0]:box[2]] == MARKER_PALETTE[cue]).all()
            assert not (image[:, beside] == MARKER_PALETTE[cue]).all()
            shapes = (label != 0) & (label != IGNORE_INDEX)
            shapes[:, box[0]:box[2]] = False  # the train split labels it
            ys, xs = np.nonzero(shapes)
            assert _chebyshev_to_box(ys, xs, box).min() >= 96


@pytest.mark.parametrize('kwargs, match', [
    (dict(cue_width=0), r'cue_width must be an int in \[1, 64\]'),
    (dict(cue_width=65), r'cue_width must be an int in \[1, 64\]'),
    (dict(cue_width=2.5), 'cue_width must be an int'),
    (dict(cue_width=8, layout='corners'), 'cue_width is for the side-bar'),
])
def test_bad_cue_width_is_named_before_writing(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_cityscapes(str(tmp_path / 'x'), size=(96, 256), **kwargs)
    assert not os.listdir(tmp_path)
    proc = _run_cli('--format', 'cifar10', '--out', str(tmp_path / 'c'),
                    '--cue-width', '4')
    assert proc.returncode == 2 and '--cue-width cannot be set' in \
        proc.stderr


# ------------------------------------------------- real mmseg and mmdet
def test_package_exports():
    import mmattn.datasets as pkg
    for name in syn.__all__:
        assert name in pkg.__all__
        assert getattr(pkg, name) is getattr(pkg.synthetic, name)
    assert pkg.make_cityscapes.__module__ == \
        'mmattn.datasets.synthetic.cityscapes'


def test_mmseg_cityscapes_dataset_reads_it(cs_root):
    pytest.importorskip('mmseg')
    import torch
    from mmengine.registry import init_default_scope
    from mmseg.evaluation import IoUMetric
    from mmseg.registry import DATASETS
    from mmseg.utils import register_all_modules
    register_all_modules()
    init_default_scope('mmseg')
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs')
    ]
    assert DATASETS.get('CityscapesDataset').METAINFO['classes'] == \
        CITYSCAPES_CLASSES
    metric = IoUMetric(iou_metrics=['mIoU'])
    for split, count in (('train', 8), ('val', 4)):
        ds = DATASETS.build(
            dict(
                type='CityscapesDataset',
                data_root=cs_root,
                data_prefix=dict(
                    img_path=f'leftImg8bit/{split}',
                    seg_map_path=f'gtFine/{split}'),
                pipeline=pipeline))
        assert len(ds) == count
        metric.dataset_meta = ds.metainfo
        for i in range(len(ds)):
            item = ds[i]
            assert tuple(item['inputs'].shape) == (3, 128, 256)
            seg = item['data_samples'].gt_sem_seg.data
            assert tuple(seg.shape) == (1, 128, 256)
            assert set(torch.unique(seg).tolist()) <= CS_IDS | {255}
            if split == 'val':
                metric.process({}, [
                    dict(pred_sem_seg=dict(data=seg),
                         gt_sem_seg=dict(data=seg))
                ])
    # Ground truth scored as a prediction: 255 is ignored, mIoU is 100.
    assert metric.evaluate(4)['mIoU'] == pytest.approx(100.0)


def test_mmdet_coco_dataset_and_metric_read_it(coco_root):
    pytest.importorskip('mmdet')
    import torch
    from mmengine.registry import init_default_scope
    from mmdet.evaluation import CocoMetric
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules
    from pycocotools import mask as mask_utils
    register_all_modules()
    init_default_scope('mmdet')
    ann_file = osp.join(coco_root, 'annotations', 'instances_train2017.json')
    ds = DATASETS.build(
        dict(
            type='CocoDataset',
            data_root=coco_root,
            ann_file='annotations/instances_train2017.json',
            data_prefix=dict(img='train2017/'),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
                dict(type='Resize', scale=(256, 256), keep_ratio=True),
                dict(type='PackDetInputs')
            ]))
    assert len(ds) == 4
    names = dict((cid, name) for cid, name, _ in COCO_CATEGORIES)
    with open(ann_file) as f:
        coco = json.load(f)
    metric = CocoMetric(ann_file=ann_file, metric=['bbox', 'segm'])
    metric.dataset_meta = ds.metainfo
    for i in range(len(ds)):
        item = ds[i]
        sample = item['data_samples']
        assert tuple(item['inputs'].shape) == (3, 256, 256)
        anns = [a for a in coco['annotations']
                if a['image_id'] == sample.img_id]
        gt = sample.gt_instances
        assert len(gt) == len(anns) > 0
        assert tuple(gt.masks.masks.shape) == (len(anns), 256, 256)
        # Labels follow mmdet's 80-class order because all 80 categories
        # with their real ids are in the json.
        assert [ds.metainfo['classes'][int(label)] for label in gt.labels
                ] == [names[a['category_id']] for a in anns]
        # Ground truth at the original scale as a prediction.
        bboxes = torch.tensor([[a['bbox'][0], a['bbox'][1],
                                a['bbox'][0] + a['bbox'][2],
                                a['bbox'][1] + a['bbox'][3]] for a in anns])
        masks = np.stack([
            mask_utils.decode(
                mask_utils.merge(
                    mask_utils.frPyObjects(a['segmentation'], 128, 128)))
            for a in anns
        ]).astype(bool)
        metric.process({}, [
            dict(
                img_id=sample.img_id,
                ori_shape=sample.ori_shape,
                pred_instances=dict(
                    bboxes=bboxes,
                    scores=torch.ones(len(anns)),
                    labels=gt.labels,
                    masks=torch.from_numpy(masks)))
        ])
    result = metric.evaluate(len(ds))
    assert result['coco/bbox_mAP'] == pytest.approx(1.0)
    assert result['coco/segm_mAP'] == pytest.approx(1.0)
