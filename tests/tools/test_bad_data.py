"""Bad data files fail when read, with an error naming the file (#11 item 2),
or are skipped with a warning under ``bad_data = 'skip'``: both ways mmattn
offers them (#23 item 3), the stock loaders under ``mmattn.runtime`` and
the registered ``mmattn.Checked*`` types without it."""
import json
import shutil

import cv2
import numpy as np
import pytest
from helpers import config_path

from mmattn.datasets.checked_loading import checked_pipeline
from mmattn.datasets.data_checks import (POLICY_VARIABLE, BadDataError,
                                       bad_data_policy, image_file_problem)

CS_IMAGE = 'leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png'
CS_LABEL = 'gtFine/train/aachen/aachen_000000_000019_gtFine_labelTrainIds.png'


@pytest.fixture(scope='module')
def clean_cityscapes(tmp_path_factory):
    from mmattn.datasets import make_cityscapes
    root = tmp_path_factory.mktemp('bad_cs_clean')
    make_cityscapes(str(root), num_train=2, num_val=1, size=(48, 64), seed=0,
                    overwrite=True)
    return root


@pytest.fixture(scope='module')
def clean_coco(tmp_path_factory):
    from mmattn.datasets import make_coco
    root = tmp_path_factory.mktemp('bad_coco_clean')
    make_coco(str(root), num_train=2, num_val=1, size=(64, 64), seed=0,
              overwrite=True)
    return root


@pytest.fixture
def cityscapes(clean_cityscapes, tmp_path):
    root = tmp_path / 'cs'
    shutil.copytree(clean_cityscapes, root)
    return root


@pytest.fixture
def coco(clean_coco, tmp_path):
    root = tmp_path / 'coco'
    shutil.copytree(clean_coco, root)
    return root


@pytest.fixture(autouse=True)
def _error_policy(monkeypatch):
    monkeypatch.delenv(POLICY_VARIABLE, raising=False)


#: 'runtime': the stock loaders with mmattn.runtime installed;
#: 'checked': mmattn's registered loaders selected by type, no runtime.
LOADING = None


@pytest.fixture(autouse=True, params=['runtime', 'checked'])
def loading(request):
    global LOADING
    LOADING = request.param
    request.getfixturevalue('runtime_on' if request.param == 'runtime'
                            else 'runtime_off')
    return request.param


def _checked(pipeline, num_classes=None):
    """The pipeline with mmattn's checked loaders (in LOADING 'checked')."""
    if LOADING == 'runtime':
        return pipeline
    return checked_pipeline(pipeline, num_classes)


def _seg_dataset(root):
    """The train set of the SPANet config, mmseg's pipeline."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    cfg = Config.fromfile(config_path('spanet_r50_cityscapes.py'))
    dataset = cfg.train_dataloader.dataset
    return DATASETS.build(dict(dataset, data_root=str(root),
                               pipeline=_checked(dataset.pipeline, 19)))


def _coco_dataset(root):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmdet.registry import DATASETS
    init_default_scope('mmdet')
    cfg = Config.fromfile(config_path('spanet_faster-rcnn_r50_fpn_1x_coco.py'))
    dataset = dict(cfg.train_dataloader.dataset, data_root=str(root) + '/')
    if LOADING == 'checked':
        dataset.update(type='mmattn.CheckedCocoDataset',
                       pipeline=_checked(dataset['pipeline']))
    return DATASETS.build(dataset)


def _index_of(dataset, path):
    return [i for i in range(len(dataset))
            if dataset.get_data_info(i)['img_path'].endswith(path)][0]


def _truncate(path, keep=0.5):
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:int(len(data) * keep)])


def test_the_clean_datasets_load(cityscapes, coco):
    seg = _seg_dataset(cityscapes)
    assert all(seg[i] is not None for i in range(len(seg)))
    det = _coco_dataset(coco)
    assert all(det[i] is not None for i in range(len(det)))


@pytest.mark.parametrize('damage, expected', [
    (lambda p: _truncate(p), 'is a truncated PNG'),
    (lambda p: open(p, 'wb').close(), r'is empty \(0 bytes\)'),
    (lambda p: open(p, 'wb').write(b'\x89PNG\r\n\x1a\n' + b'\0' * 200 +
                                   b'IEND\xaeB`\x82'),
     'cannot be decoded as an image'),
    (lambda p: shutil.os.remove(p), 'does not exist'),
])
@pytest.mark.parametrize('which', ['image', 'label map'])
def test_unreadable_seg_files_are_named(cityscapes, damage, expected, which):
    dataset = _seg_dataset(cityscapes)
    index = _index_of(dataset, CS_IMAGE)
    path = str(cityscapes / (CS_IMAGE if which == 'image' else CS_LABEL))
    damage(path)
    with pytest.raises(BadDataError, match=f'{which} {path} {expected}'):
        dataset.prepare_data(index)


def test_label_map_of_another_size_is_named(cityscapes):
    dataset = _seg_dataset(cityscapes)
    label = str(cityscapes / CS_LABEL)
    cv2.imwrite(label, np.zeros((40, 64), np.uint8))
    with pytest.raises(BadDataError, match=f'label map {label} is 64x40 '
                       r'\(WxH\), but its image .*aachen.* is 64x48'):
        dataset.prepare_data(_index_of(dataset, CS_IMAGE))


def test_label_values_outside_the_classes_are_named(cityscapes):
    dataset = _seg_dataset(cityscapes)
    label = str(cityscapes / CS_LABEL)
    gt = cv2.imread(label, cv2.IMREAD_UNCHANGED)
    gt[0, :3] = 255  # the ignore index is allowed
    cv2.imwrite(label, gt)
    assert dataset.prepare_data(_index_of(dataset, CS_IMAGE)) is not None
    gt[1, :2] = (19, 30)
    cv2.imwrite(label, gt)
    with pytest.raises(BadDataError, match=rf'label map {label} has label '
                       r'value\(s\) \[19, 30\] outside the 19 classes'):
        dataset.prepare_data(_index_of(dataset, CS_IMAGE))


def test_skip_policy_replaces_the_bad_sample_with_a_warning(
        cityscapes, monkeypatch, capsys):
    monkeypatch.setenv(POLICY_VARIABLE, 'skip')
    dataset = _seg_dataset(cityscapes)
    index = _index_of(dataset, CS_IMAGE)
    _truncate(str(cityscapes / CS_IMAGE))
    assert dataset.prepare_data(index) is None  # the pipeline skips it
    sample = dataset[index]  # and mmengine fetches another one instead
    assert CS_IMAGE not in sample['data_samples'].img_path
    assert f'skipping bad data: image {cityscapes / CS_IMAGE}' in \
        capsys.readouterr().out


def test_truncated_jpeg_that_mmcv_would_decode(coco, tmp_path):
    from mmcv.transforms import LoadImageFromFile
    jpeg = str(coco / 'train2017' / '000000000001.jpg')
    _truncate(jpeg, keep=0.7)
    # what stock decoding makes of it: an image, silently (grey bottom)
    assert cv2.imread(jpeg) is not None
    assert image_file_problem(jpeg).startswith('is a truncated JPEG')
    if LOADING == 'checked':
        from mmattn.datasets.checked_loading import \
            CheckedLoadImageFromFile as LoadImageFromFile
    with pytest.raises(BadDataError, match=f'image {jpeg} is a truncated '
                       'JPEG'):
        LoadImageFromFile()(dict(img_path=jpeg))
    # and through the detector's pipeline
    dataset = _coco_dataset(coco)
    with pytest.raises(BadDataError, match=jpeg):
        dataset.prepare_data(_index_of(dataset, '000000000001.jpg'))


def _edit_json(root, edit):
    path = root / 'annotations' / 'instances_train2017.json'
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    return str(path)


def test_coco_json_naming_a_missing_image(coco):
    def rename(data):
        data['images'][1]['file_name'] = 'missing.jpg'
    ann_file = _edit_json(coco, rename)
    with pytest.raises(BadDataError, match=f'{ann_file}: image id 2 '
                       r'\(missing.jpg\) names image .*train2017/missing.jpg'
                       ', which does not exist'):
        _coco_dataset(coco)


@pytest.mark.parametrize('segmentation, expected', [
    ([[1.0, 2.0, 3.0, 4.0, 5.0]], 'polygon 0 has 5 coordinates'),
    ([[1.0, 2.0, 3.0, 4.0]], 'polygon 0 has 4 coordinates'),
    ([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1, 2, 3, 4, 'x', 6]],
     'polygon 1 has a value that is not a finite number'),
    ({'counts': 'abc'}, 'an RLE segmentation needs "counts" and "size"'),
    ('1 2 3', 'segmentation is a str'),
])
def test_coco_malformed_segmentation(coco, segmentation, expected):
    def damage(data):
        ann = data['annotations'][0]
        ann['segmentation'] = segmentation
    ann_file = _edit_json(coco, damage)
    with pytest.raises(BadDataError, match=f'{ann_file}: image id 1 '
                       r'\(000000000001.jpg\), annotation id 1: ' + expected):
        _coco_dataset(coco)


def test_coco_skip_policy_drops_the_annotation(coco, monkeypatch, capsys):
    before = _coco_dataset(coco)
    index = _index_of(before, '000000000001.jpg')
    count = len(before.get_data_info(index)['instances'])

    def damage(data):
        data['annotations'][0]['segmentation'] = [[1.0, 2.0, 3.0]]
    _edit_json(coco, damage)
    monkeypatch.setenv(POLICY_VARIABLE, 'skip')
    after = _coco_dataset(coco)
    assert len(after.get_data_info(index)['instances']) == count - 1
    assert 'annotation id 1: polygon 0 has 3 coordinates' in \
        capsys.readouterr().out


def test_policy_values(monkeypatch):
    import train
    from mmengine.config import Config
    assert bad_data_policy() == 'error'
    monkeypatch.setenv(POLICY_VARIABLE, 'ignore')
    with pytest.raises(ValueError, match=f"{POLICY_VARIABLE}='ignore'"):
        bad_data_policy()
    with pytest.raises(ValueError, match="bad_data='drop': expected one of"):
        train.apply_bad_data_policy(Config(dict(bad_data='drop')))
    train.apply_bad_data_policy(Config(dict(bad_data='skip')))
    assert bad_data_policy() == 'skip'


def test_bad_data_argument_overrides_the_process_policy(cityscapes, capsys):
    from mmattn.datasets.checked_loading import (CheckedLoadAnnotations,
                                                 CheckedLoadImageFromFile)
    _truncate(str(cityscapes / CS_IMAGE))
    image = str(cityscapes / CS_IMAGE)
    assert CheckedLoadImageFromFile(bad_data='skip')(
        dict(img_path=image)) is None
    assert f'skipping bad data: image {image}' in capsys.readouterr().out
    with pytest.raises(ValueError, match=r"bad_data='drop': expected one "
                       r"of \('error', 'skip'\) or None"):
        CheckedLoadImageFromFile(bad_data='drop')
    with pytest.raises(ValueError, match='num_classes must be a positive '
                       "int or None, got 'x'"):
        CheckedLoadAnnotations(num_classes='x')
