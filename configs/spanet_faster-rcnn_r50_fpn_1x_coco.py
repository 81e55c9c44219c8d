# Short name: Faster R-CNN R50-FPN 1x COCO with SPANet plugins in the backbone.
_base_ = './spanet/faster-rcnn_r50-spanet_fpn_1x_coco.py'
