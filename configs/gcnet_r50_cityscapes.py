# Short name: GCNet R50-D8, Cityscapes 512x1024, 80k iterations, 4 GPUs x 2
# images.
_base_ = './gcnet/gcnet_r50-d8_4xb2-80k_cityscapes-512x1024.py'
