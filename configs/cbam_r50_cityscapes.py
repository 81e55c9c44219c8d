# Short name: FCN R50-D8 Cityscapes 512x1024 80k with CBAM (channel then spatial gate) plugins.
_base_ = './plugins/fcn_r50-d8-cbam_4xb2-80k_cityscapes-512x1024.py'
