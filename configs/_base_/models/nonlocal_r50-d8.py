# Non-local network (embedded Gaussian) on a dilated ResNet-50 (output stride
# 8). mmseg's model with the decode head switched to mmattn's drop-in of the
# same name: same arguments and state-dict keys, so mmseg's checkpoints load as
# is.
_base_ = 'mmseg::_base_/models/nonlocal_r50-d8.py'
custom_imports = dict(
    imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
model = dict(decode_head=dict(type='mmattn.NLHead'))
