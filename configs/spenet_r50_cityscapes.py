# Short name: FCN R50-D8 Cityscapes 512x1024 80k with SPENet (self-adaptive max/min pooling) plugins.
_base_ = './plugins/fcn_r50-d8-spenet_4xb2-80k_cityscapes-512x1024.py'
