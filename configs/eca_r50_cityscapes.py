# Short name: FCN R50-D8 Cityscapes 512x1024 80k with ECA (kernel size adaptive to the channels) plugins.
_base_ = './plugins/fcn_r50-d8-eca_4xb2-80k_cityscapes-512x1024.py'
