# Short name: Faster R-CNN R50-FPN 1x COCO with SPENet (self-adaptive max/min pooling) plugins.
_base_ = './plugins/faster-rcnn_r50-spenet_fpn_1x_coco.py'
