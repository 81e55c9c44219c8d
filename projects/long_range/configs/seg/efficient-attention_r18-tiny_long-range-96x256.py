# Long-range benchmark: mmattn's EfficientAttentionHead (Shen et al.'s efficient attention,
# linear in the positions) on the local baseline's backbone, data and schedule
# (docs/long_range.md). The baseline's FCNHead arguments (64 channels, two convs,
# concat_input, dropout, loss) carry over: BlockHead takes them; only the type and the
# block's own arguments change.
_base_ = './fcn_r18-tiny_long-range-96x256.py'
model = dict(
    decode_head=dict(type='mmattn.EfficientAttentionHead', num_heads=2))
