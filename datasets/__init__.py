"""Dataset preparation tools: COCO-style photo squaring, pixel-art extraction with native grid
detection, and a procedural unpaired dataset for offline demos and tests.

Every tool is a CLI (``python -m datasets.<tool> --help``) whose logic lives in importable
functions; outputs follow the unpaired layout ``DST/{trainA,testA,trainB,testB}``.
"""
