# Long-range benchmark: mmattn's ExternalAttentionHead (EANet's external attention, two
# shared memories of 64 units) on the local baseline's backbone, data and schedule
# (docs/long_range.md). The baseline's FCNHead arguments carry over (see
# efficient-attention_r18-tiny_long-range-96x256.py).
_base_ = './fcn_r18-tiny_long-range-96x256.py'
model = dict(
    decode_head=dict(type='mmattn.ExternalAttentionHead', memory_units=64))
