# mmseg ships OCRNet's ResNet model (_base_/models/ocrnet_r50-d8.py) but
# publishes Cityscapes weights only for ResNet-101 (see
# ocrnet_r101-d8_8xb2-80k_cityscapes-512x1024.py); this is the R50-D8 member of
# the family, laid out like the other heads' R50-D8 configs.
_base_ = [
    '../_base_/models/ocrnet_r50-d8.py',
    'mmseg::_base_/datasets/cityscapes.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py'
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
