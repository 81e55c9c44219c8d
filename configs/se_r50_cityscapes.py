# Short name: FCN R50-D8 Cityscapes 512x1024 80k with Squeeze-and-Excitation plugins.
_base_ = './plugins/fcn_r50-d8-se_4xb2-80k_cityscapes-512x1024.py'
