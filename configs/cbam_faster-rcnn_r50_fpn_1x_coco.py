# Short name: Faster R-CNN R50-FPN 1x COCO with CBAM (channel then spatial gate) plugins.
_base_ = './plugins/faster-rcnn_r50-cbam_fpn_1x_coco.py'
