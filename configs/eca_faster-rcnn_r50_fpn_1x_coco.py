# Short name: Faster R-CNN R50-FPN 1x COCO with ECA (kernel size adaptive to the channels) plugins.
_base_ = './plugins/faster-rcnn_r50-eca_fpn_1x_coco.py'
