"""Dataset base class and the image transforms shared by every dataset mode.

Preprocessing (``--preprocess``), in the order :func:`get_transform` applies it:

1. **Grayscale** when the dataset asks for one channel (``--input_nc 1`` / ``--output_nc 1``):
   PIL ``L`` (ITU-R 601-2 luma). Otherwise the image is RGB.
2. **Resize** (bicubic by default):

   * ``resize_and_crop``: to a ``load_size`` x ``load_size`` square. The aspect ratio is NOT kept.
   * ``scale_width`` and ``scale_width_and_crop``: width ``load_size``, height
     ``int(max(load_size * h / w, crop_size))`` (aspect kept unless the crop forces a taller
     image); nothing happens when the width already is ``load_size`` and the height is at
     least ``crop_size``.
   * ``crop`` and ``none``: no resize.
3. **Crop** (modes containing ``crop``): a ``crop_size`` square, at a random position or at
   ``params['crop_pos']``. An image smaller than the crop (after step 2) raises ValueError
   naming ``--crop_size``, ``--load_size``, ``--preprocess``, the file and its size.
4. **Multiple of 4**, at training time only (``opt.isTrain``): ``none`` and ``scale_width``
   round width and height to the nearest multiple of 4 with Python's ``round()`` (banker's
   rounding: 70x50 -> 72x48), folded into the resize of step 2 so the image is resampled
   once. The reference does this for ``none`` only; its ``scale_width`` heights could be any
   number and broke the generator's skip additions. At test time sizes are kept exactly:
   the model pads to what the generator needs and crops back.
5. **Horizontal flip** with probability 1/2 unless ``--no_flip`` (or at ``params['flip']``).
6. **To tensor** through :mod:`util.image` (``from_pil`` then ``to_tensor``): ``float32``
   ``(C, H, W)`` in ``[-1, 1]`` (pixel 0 -> -1.0, 255 -> 1.0), C = 1 for grayscale, else 3.

Randomness: every random draw (crop position, flip, the unaligned B index) comes from a
``random.Random`` passed in explicitly. Datasets get it from :meth:`BaseDataset.item_rng`,
seeded from ``(seed, epoch, index)``, so an item is the same tensor whatever the number of
DataLoader workers, and an interrupted epoch can be resumed exactly. The global ``random``
module is never used.
"""
from __future__ import annotations

import hashlib
import logging
import os
import random
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import torch.utils.data
from PIL import Image

from util.image import ImageLoadError, from_pil, load_image, to_pil, to_tensor

logger = logging.getLogger(__name__)

#: --preprocess: how :func:`get_transform` fits an image to the network (resize, crop, scale width).
PREPROCESS_MODES: tuple[str, ...] = ("resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none")
#: --direction of paired datasets: which half of an aligned image is the input.
DIRECTIONS: tuple[str, ...] = ("AtoB", "BtoA")

_RESAMPLE_BY_NAME = {
    "nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC, "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING, "lanczos": Image.Resampling.LANCZOS,
}

# The "sizes were rounded to a multiple of 4" note is logged at INFO once per process, then at DEBUG.
_size_note_logged = False


class DatasetImageError(ImageLoadError):
    """:class:`util.image.ImageLoadError` raised by datasets; ``str()`` is ``"<path>: <reason>"``.

    Unlike its base class it can be rebuilt from one message, which is what the
    DataLoader does when a worker process fails: the error then arrives in the main process
    with its type (still an ``ImageLoadError``) and its message intact, instead of as a
    ``RuntimeError``. The worker's traceback is kept in ``worker_traceback``.
    """

    def __init__(self, path: str | os.PathLike, reason: str | None = None):
        self.worker_traceback: str | None = None
        if reason is not None:
            super().__init__(path, reason)
            return
        text = str(path)
        marker = f"{type(self).__name__}: "
        if "Original Traceback" in text and marker in text:
            self.worker_traceback = text
            text = text[text.rindex(marker) + len(marker):].strip()
        self.path, _, self.reason = text.partition(": ")
        ValueError.__init__(self, text)

    def __reduce__(self):
        return (type(self), (self.path, self.reason))


def open_image(path: str | os.PathLike) -> Image.Image:
    """Read ``path`` as an RGB PIL image (alpha composited over white, any format util.image reads).

    Raises :class:`DatasetImageError` (an ``ImageLoadError``) naming the file when it cannot
    be read; it survives DataLoader worker processes with its message.
    """
    try:
        arr = load_image(path)
    except DatasetImageError:
        raise
    except ImageLoadError as err:
        raise DatasetImageError(err.path, err.reason) from err
    return to_pil(arr)


# --------------------------------------------------------------------------- options helpers
def check_preprocess(opt: Any) -> str:
    """``opt.preprocess`` after checking it is one of :data:`PREPROCESS_MODES`."""
    mode = opt.preprocess
    if mode not in PREPROCESS_MODES:
        raise ValueError(f"--preprocess {mode!r} is not supported; choose one of: {', '.join(PREPROCESS_MODES)}")
    return mode


def _positive_int(opt: Any, name: str) -> int:
    value = getattr(opt, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"--{name} must be a positive integer, got {value!r}")
    return value


def domain_channels(opt: Any) -> tuple[int, int]:
    """Channel counts ``(nc of the A folder, nc of the B folder)``.

    With ``--direction BtoA`` the B folder feeds the generator's input, so the folders'
    counts are swapped: ``(output_nc, input_nc)``. The dataset keys stay tied to the folders
    (``'A'`` comes from ``{phase}A``); the model picks ``'B'`` as its input for BtoA.
    """
    if opt.direction not in DIRECTIONS:
        raise ValueError(f"--direction must be one of {', '.join(DIRECTIONS)}, got {opt.direction!r}")
    for name in ("input_nc", "output_nc"):
        _positive_int(opt, name)
    if opt.direction == "BtoA":
        return opt.output_nc, opt.input_nc
    return opt.input_nc, opt.output_nc


def phase_word(phase: str) -> str:
    """"training" for ``train``, otherwise the phase name (used in messages)."""
    return "training" if phase == "train" else phase


def _round4(value: int) -> int:
    """Nearest multiple of 4 with Python's round() (banker's rounding), at least 4."""
    return max(4, round(value / 4) * 4)


def resized_size(opt: Any, size: tuple[int, int]) -> tuple[int, int]:
    """``(w, h)`` after the resize step (incl. the train-time multiple of 4), before cropping."""
    w, h = size
    mode = check_preprocess(opt)
    load = _positive_int(opt, "load_size")
    crop = _positive_int(opt, "crop_size")
    if mode == "resize_and_crop":
        return load, load
    if mode in ("scale_width", "scale_width_and_crop"):
        if w == load and h >= crop:
            new_w, new_h = w, h
        else:
            new_w, new_h = load, int(max(load * h / w, crop))
        if mode == "scale_width" and opt.isTrain:
            new_w, new_h = _round4(new_w), _round4(new_h)
        return new_w, new_h
    if mode == "none" and opt.isTrain:
        return _round4(w), _round4(h)
    return w, h


def _as_rng(rng: random.Random | int) -> random.Random:
    if isinstance(rng, random.Random):
        return rng
    if isinstance(rng, int) and not isinstance(rng, bool):
        return random.Random(rng)
    raise TypeError(f"`rng` must be a random.Random or an int seed, got {type(rng).__name__}")


def get_params(opt: Any, size: tuple[int, int], rng: random.Random | int) -> dict[str, Any]:
    """Draw one crop position and flip for an image of ``size = (w, h)``.

    Returns ``{'crop_pos': (x, y), 'flip': bool}`` with ``x`` in ``[0, max(0, W - crop)]``
    for the post-resize width ``W`` (likewise ``y``). Three draws, always in this order
    (x, y, flip), from ``rng`` (a ``random.Random`` or an int seed). Pass the same params to
    several :func:`get_transform` calls to crop and flip paired images identically.
    """
    rng = _as_rng(rng)
    new_w, new_h = resized_size(opt, size)
    crop = opt.crop_size
    x = rng.randint(0, max(0, new_w - crop))
    y = rng.randint(0, max(0, new_h - crop))
    flip = rng.random() > 0.5
    return {"crop_pos": (x, y), "flip": flip}


def _resample(method: Any) -> Image.Resampling:
    """PIL resampling filter from a PIL constant or a torchvision InterpolationMode."""
    if type(method).__name__ == "InterpolationMode":
        method = _RESAMPLE_BY_NAME.get(str(method.value).lower(), method)
    try:
        return Image.Resampling(method)
    except (ValueError, TypeError):
        raise ValueError(f"`method` must be a PIL resampling filter such as Image.BICUBIC, got {method!r}") from None


class ImageTransform:
    """Callable built by :func:`get_transform`: PIL image (or uint8 HWC array) -> tensor.

    ``transform(img, path=None, rng=None)`` returns ``float32 (C, H, W)`` in ``[-1, 1]``, or
    the transformed PIL image when built with ``convert=False``. ``path`` only names the file
    in error messages. Without ``params``, the crop position and flip are drawn per call
    from ``rng`` (the call's, else the one given to :func:`get_transform`).
    """

    def __init__(self, opt: Any, params: dict[str, Any] | None, grayscale: bool, method: Any, convert: bool,
                 rng: random.Random | int | None):
        self.opt = opt
        self.preprocess = check_preprocess(opt)
        self.load_size = _positive_int(opt, "load_size")
        self.crop_size = _positive_int(opt, "crop_size")
        self.params = params
        self.grayscale = bool(grayscale)
        self.method = _resample(method)
        self.convert = convert
        self.rng = None if rng is None else _as_rng(rng)

    def __repr__(self) -> str:
        return (f"ImageTransform(preprocess={self.preprocess!r}, load_size={self.load_size}, "
                f"crop_size={self.crop_size}, grayscale={self.grayscale}, flip={not self.opt.no_flip}, "
                f"train={bool(self.opt.isTrain)}, params={self.params})")

    def _draw_rng(self, rng: random.Random | int | None) -> random.Random:
        if rng is not None:
            return _as_rng(rng)
        if self.rng is None:
            # Nothing given: a private, OS-seeded generator (never the global `random`).
            self.rng = random.Random()
        return self.rng

    def __call__(self, img: Image.Image | np.ndarray, path: str | os.PathLike | None = None, *,
                 rng: random.Random | int | None = None):
        """Resize, crop and flip one image (PIL or uint8 array): a [-1, 1] tensor, or PIL when not converting."""
        global _size_note_logged
        pil = img if isinstance(img, Image.Image) else to_pil(img)
        source = "<image>" if path is None else str(path)
        original = pil.size
        pil = pil.convert("L") if self.grayscale else (pil if pil.mode == "RGB" else pil.convert("RGB"))

        params = self.params if self.params is not None else get_params(self.opt, pil.size, self._draw_rng(rng))

        target = resized_size(self.opt, pil.size)
        if target != pil.size:
            if self.preprocess == "none":
                level = logging.DEBUG if _size_note_logged else logging.INFO
                _size_note_logged = True
                logger.log(level, "training image sizes must be multiples of 4: %s (%dx%d) was resized to %dx%d "
                           "(every such image is; use sizes that are multiples of 4 to avoid it)",
                           source, *pil.size, *target)
            pil = pil.resize(target, self.method)

        if "crop" in self.preprocess:
            pil = self._crop(pil, params["crop_pos"], source, original)

        if not self.opt.no_flip and params["flip"]:
            pil = pil.transpose(Image.Transpose.FLIP_LEFT_RIGHT)

        if not self.convert:
            return pil
        return to_tensor(from_pil(pil))[0]

    def _crop(self, pil: Image.Image, pos: tuple[int, int], source: str, original: tuple[int, int]) -> Image.Image:
        c = self.crop_size
        w, h = pil.size
        if c > w or c > h:
            if self.preprocess in ("resize_and_crop", "scale_width_and_crop"):
                fix = f"set --load_size to at least --crop_size (e.g. --load_size {c})"
            else:
                fix = (f"lower --crop_size to at most {min(w, h)}, use --preprocess scale_width_and_crop or "
                       "resize_and_crop with --load_size >= --crop_size, or remove images smaller than the crop")
            raise ValueError(
                f"--crop_size {c} is larger than the image {source}: it is {w}x{h} after --preprocess "
                f"{self.preprocess} with --load_size {self.load_size} (the file is {original[0]}x{original[1]}); "
                f"fix: {fix}")
        # Params drawn for a slightly different size (e.g. the halves of an odd-width aligned
        # pair) are clamped so the crop stays inside the image.
        x = min(max(0, int(pos[0])), w - c)
        y = min(max(0, int(pos[1])), h - c)
        return pil.crop((x, y, x + c, y + c))


def get_transform(opt: Any, params: dict[str, Any] | None = None, grayscale: bool = False,
                  method: Any = Image.BICUBIC, convert: bool = True,
                  rng: random.Random | int | None = None) -> ImageTransform:
    """Build the preprocessing described in the module docstring.

    Args:
        opt: options; reads ``preprocess``, ``load_size``, ``crop_size``, ``no_flip``, ``isTrain``.
        params: ``get_params`` output to crop/flip at fixed values; None draws them per call.
        grayscale: convert to one channel (``L``).
        method: resampling filter for resizes (PIL constant or torchvision InterpolationMode).
        convert: return a float32 ``(C, H, W)`` tensor in ``[-1, 1]``; False returns the PIL image.
        rng: ``random.Random`` (or int seed) for the draws when ``params`` is None.

    Returns:
        An :class:`ImageTransform`; call it as ``transform(pil_or_uint8_hwc, path)``.
    """
    return ImageTransform(opt, params, grayscale, method, convert, rng)


# --------------------------------------------------------------------------- batch sizes
def header_size(path: str | os.PathLike) -> tuple[int, int] | None:
    """``(w, h)`` of the image file as :func:`open_image` returns it (EXIF rotation applied), read
    from the file's header only (nothing is decoded); None when the file cannot be opened."""
    try:
        with Image.open(path) as img:
            w, h = img.size
            try:
                orientation = img.getexif().get(0x0112)
            except Exception:  # a malformed EXIF block: open_image decides later
                orientation = None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None  # unreadable: reported by name (or skipped) when it is loaded
    if orientation in (5, 6, 7, 8):  # rotated by 90 degrees on load
        w, h = h, w
    return w, h


def check_batchable_sizes(opt: Any, groups: dict[str, tuple[list[str], Any]]) -> None:
    """Refuse, before training, images that the DataLoader could not stack into one batch.

    With ``--batch_size`` > 1 every tensor of a batch must have one size. A ``--preprocess``
    with a crop gives every image the ``crop_size`` square, but ``none`` and ``scale_width``
    keep each file's own size (or aspect ratio), so two files of different sizes would stop
    training with a long collate traceback somewhere in the first epochs. This reads only the
    image headers (cheap) and raises :class:`util.cli.FlagError` naming two files of different
    sizes and the fixes (exit status 2, nothing written).

    ``groups`` maps a batch key (e.g. ``'A'``) to ``(paths, item_size)``, where ``item_size``
    turns a file's ``(w, h)`` into the size of the key's image before preprocessing (e.g. the
    left half of an aligned pair), None for the whole file; it may return None to leave a file
    out. Unreadable files are left out: they are reported when loaded.
    """
    from util.cli import FlagError

    batch = getattr(opt, "batch_size", 1)
    mode = check_preprocess(opt)
    if not isinstance(batch, int) or batch <= 1 or "crop" in mode:
        return
    headers: dict[str, tuple[int, int] | None] = {}  # each file's header is read once (aligned: 2 keys)
    for key, (paths, item_size) in groups.items():
        first: tuple[str, tuple[int, int], tuple[int, int]] | None = None
        for path in paths:
            if path not in headers:
                headers[path] = header_size(path)
            size = headers[path]
            if size is not None and item_size is not None:
                size = item_size(size)
            if size is None:
                continue
            out = resized_size(opt, size)
            if first is None:
                first = (path, size, out)
                continue
            if out != first[2]:
                def says(p: str, s: tuple[int, int], o: tuple[int, int]) -> str:
                    text = f"{p} ({s[0]}x{s[1]}"
                    return text + (f", {o[0]}x{o[1]} after preprocessing)" if o != s else ")")
                what = f"'{key}' images" if len(groups) > 1 else "images"
                raise FlagError(
                    f"--batch_size {batch} stacks {what} of one size, but --preprocess {mode} keeps each file's "
                    f"{'size' if mode == 'none' else 'aspect ratio'}: {says(*first)} and {says(path, size, out)} differ; use --batch_size 1, or a "
                    f"--preprocess that resizes or crops every image to one size (resize_and_crop, crop, "
                    f"scale_width_and_crop)")


# --------------------------------------------------------------------------- base class
class BaseDataset(torch.utils.data.Dataset, ABC):
    """Base of every dataset mode (``data/<name>_dataset.py`` defines ``<Name>Dataset``).

    Subclasses implement ``__len__`` and ``__getitem__`` (returning a dict of tensors and
    paths) and may extend the command line in :meth:`modify_commandline_options`. Per-item
    randomness must come from :meth:`item_rng`.

    Attributes:
        opt: the options namespace; ``root``: ``opt.dataroot``; ``seed``: ``opt.seed`` (0
        when absent); ``epoch``: set by :meth:`set_epoch` (0 initially).
    """

    def __init__(self, opt: Any):
        self.opt = opt
        self.root = opt.dataroot
        seed = getattr(opt, "seed", 0)
        if seed is None:
            seed = 0
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"--seed must be an integer, got {seed!r}")
        self.seed: int = seed
        self.epoch: int = 0

    @staticmethod
    def modify_commandline_options(parser, is_train: bool):
        """Add dataset-specific options or change defaults; returns the parser."""
        return parser

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose random draws :meth:`item_rng` returns."""
        if isinstance(epoch, bool) or not isinstance(epoch, int):
            raise TypeError(f"`epoch` must be an int, got {epoch!r}")
        self.epoch = epoch

    def item_rng(self, index: int) -> random.Random:
        """A fresh ``random.Random`` that is a pure function of ``(seed, epoch, index)``."""
        digest = hashlib.blake2b(f"{self.seed}/{self.epoch}/{int(index)}".encode(), digest_size=16).digest()
        return random.Random(int.from_bytes(digest, "little"))

    @abstractmethod
    def __len__(self) -> int:
        """Number of items in one epoch."""

    @abstractmethod
    def __getitem__(self, index: int) -> dict[str, Any]:
        """The item at ``index``: a dict of tensors ``(C, H, W)`` float32 in [-1, 1] and paths."""
