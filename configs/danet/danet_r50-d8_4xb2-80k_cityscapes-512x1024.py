# mmseg's danet/danet_r50-d8_4xb2-80k_cityscapes-512x1024 with mmattn's DAHead;
# mmseg's published checkpoint of that config loads into it as is
# (docs/model_zoo.md).
_base_ = [
    '../_base_/models/danet_r50-d8.py',
    'mmseg::_base_/datasets/cityscapes.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py'
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
