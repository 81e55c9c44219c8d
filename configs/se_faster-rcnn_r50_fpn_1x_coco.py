# Short name: Faster R-CNN R50-FPN 1x COCO with Squeeze-and-Excitation plugins.
_base_ = './plugins/faster-rcnn_r50-se_fpn_1x_coco.py'
