"""Colorization (``--model colorization``): a pix2pix that predicts the ab channels from L.

The generator maps the CIELAB lightness L (``input_nc 1``) to the two colour channels ab
(``output_nc 2``); the discriminator judges ``cat(L, ab)``. Training, losses, checkpoints
(``<epoch>_net_G.pth``, ``<epoch>_net_D.pth``) and defaults are pix2pix's, plus
``--dataset_mode colorization``. The visuals are shown in RGB: ``real_A`` (L as grey),
``real_B_rgb`` (the original colours) and ``fake_B_rgb`` (L with the predicted ab), converted
for the whole batch through :mod:`util.image`.
"""
from __future__ import annotations

from models.pix2pix_model import Pix2PixModel
from util.image import lab_tensors_to_rgb


class ColorizationModel(Pix2PixModel):
    """pix2pix from L (1 channel) to ab (2 channels), with RGB visuals."""

    @staticmethod
    def modify_commandline_options(parser, is_train: bool = True):
        """pix2pix's defaults plus ``--dataset_mode colorization`` (which sets input_nc 1, output_nc 2)."""
        Pix2PixModel.modify_commandline_options(parser, is_train)
        parser.set_defaults(dataset_mode="colorization")
        return parser

    def __init__(self, opt) -> None:
        wrong = [f"--{name} {getattr(opt, name)} (needs {need})"
                 for name, need in (("input_nc", 1), ("output_nc", 2), ("direction", "AtoB"))
                 if getattr(opt, name) != need]
        if wrong:
            raise ValueError("--model colorization maps the L channel to the ab channels: " + ", ".join(wrong)
                             + "; drop these flags or pass --input_nc 1 --output_nc 2 --direction AtoB")
        Pix2PixModel.__init__(self, opt)
        self.visual_names = ["real_A", "real_B_rgb", "fake_B_rgb"]

    def compute_visuals(self) -> None:
        """RGB images of the ground truth and of the prediction (every image of the batch)."""
        self.real_B_rgb = lab_tensors_to_rgb(self.real_A, self.real_B)
        self.fake_B_rgb = lab_tensors_to_rgb(self.real_A, self.fake_B)
