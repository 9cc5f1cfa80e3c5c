"""DINOv2-style pretraining of pathology foundation models (the RudolfV recipe).

Laid out like dinov2: `data/` (manifest loader, multi-crop, pathology augmentations),
`models/` (timm backbones, DINO and iBOT heads), `loss/` (DINO, iBOT, KoLeo), `train/` (the
loop, schedules, checkpoints), `configs/` (recipes as data). Filled in by the training issue;
no Django import here.
"""
