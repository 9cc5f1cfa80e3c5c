"""DINOv2-style pretraining of pathology foundation models (the RudolfV recipe).

Laid out like dinov2: `data/` (the manifest source, multi-crop draws in the workers and
augmentation on the device, pathology augmentations, masking), `models/` (timm backbones,
DINO and iBOT heads, the EMA teacher), `loss/` (DINO, iBOT, KoLeo), `train/` (the loop,
schedules, recipes and presets, checkpoints), `eval/` (kNN and linear probe), and `cli`
(``python -m trainer``). No Django import here; design in docs/training.md.
"""
