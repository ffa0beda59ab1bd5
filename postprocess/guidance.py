"""Guide a generator's output with its input: keep the drawing's colours, keep the outlines, drop the speckle.

A generator trained on cartoons -> pixel-art sprites adds what pixel artists draw (dark outlines
around the object and along its main inner edges) but also restyles what it should keep: it shifts
the drawing's lightness and colours toward its training sprites and adds their texture as isolated
cells ("speckle"). Both are known from the input, so they can be undone without undoing the outlines:

* :func:`transfer_tone`: the output takes the input's CIELAB colour (lightness included) everywhere
  except where the generator drew an outline: a pixel the generator made clearly darker (than the
  input, by more than its typical darkening of the drawing), within one cell of an edge of
  the input (a colour edge or the drawing's border). An optional
  ``shading`` share of the generator's *local* lightness changes (its change relative to the input,
  with the local mean removed) is kept as well, so shading may move but the drawing's tone may not.
* :func:`remove_speckle`: on a quantised, one-pixel-per-cell result, a cell unlike each of its
  4-neighbours is a speckle (:func:`speckle_mask`); one that continues a diagonal line (a diagonal
  neighbour of its colour) is left alone. With the input as reference it is replaced by the neighbour colour
  closest to the input's colour at that cell, unless its own colour is closer (an eye or a
  highlight that the input has too stays). Without a reference, only low-contrast speckles go.
  Replacement colours are neighbours' colours, so the palette never grows.
"""
from __future__ import annotations

import cv2
import numpy as np

from postprocess.color import delta_e00, lab_to_srgb, srgb_to_lab

#: A pixel is an outline candidate when the generator made it at least this much darker (CIELAB L*).
OUTLINE_DROP = 12.0
#: Lightness gradient of the input (L* per pixel, after a 1-px blur) above which a pixel is an edge.
EDGE_GRADIENT = 6.0
#: Large pictures are guided in horizontal strips of about this many pixels (with enough overlap that
#: the result is the same), so memory stays bounded: a 64 MP picture never holds full-size CIELAB arrays.
STRIP_PIXELS = 1 << 22
#: Colour distance (ΔE00) above which two cells count as different for a speckle.
SPECKLE_DE = 10.0
#: Without a reference, a speckle whose lightness differs from its neighbours' mean by at least this
#: much (L*) is kept: a dark eye or a bright highlight, not texture.
KEEP_CONTRAST_L = 35.0


def _check_pair(stylised: np.ndarray, original: np.ndarray) -> None:
    for name, im in (("stylised", stylised), ("original", original)):
        if im.dtype != np.uint8 or im.ndim != 3 or im.shape[2] not in (3, 4):
            raise ValueError(f"`{name}` must be uint8 (H, W, 3|4), got {im.dtype} {im.shape}")
    if stylised.shape[:2] != original.shape[:2]:
        raise ValueError(f"`stylised` {stylised.shape[:2]} and `original` {original.shape[:2]} differ in size")


def edge_band(original: np.ndarray, radius: int, *, background: np.ndarray | None = None,
              lightness: np.ndarray | None = None) -> np.ndarray:
    """bool ``(H, W)``: pixels within ``radius`` of an edge of ``original`` (uint8 RGB).

    An edge is a pixel whose lightness gradient (Sobel on L*, after a 1-px Gaussian blur) exceeds
    :data:`EDGE_GRADIENT`, or one on the border of ``background`` (bool mask, e.g. the white
    background connected to the picture's frame) when it is given. ``lightness``: the picture's
    L* when the caller has it already (it is computed otherwise)."""
    if radius < 0:
        raise ValueError(f"`radius` must be >= 0, got {radius}")
    if lightness is None:
        lightness = srgb_to_lab(np.ascontiguousarray(original[..., :3]))[..., 0]
    lum = cv2.GaussianBlur(lightness.astype(np.float32), (0, 0), 1.0)
    gx = cv2.Sobel(lum, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(lum, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    edges = np.hypot(gx, gy) > EDGE_GRADIENT
    if background is not None:
        bg = background.astype(np.uint8)
        edges |= (cv2.dilate(bg, np.ones((3, 3), np.uint8)) != cv2.erode(bg, np.ones((3, 3), np.uint8)))
    if radius:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        edges = cv2.dilate(edges.astype(np.uint8), kernel) > 0
    return edges


def transfer_tone(stylised: np.ndarray, original: np.ndarray, pixel_size: int, *, shading: float = 0.0,
                  background: np.ndarray | None = None, typical: float | None = None) -> np.ndarray:
    """The input's colours with the generator's outlines (and ``shading`` of its local shading).

    Args:
        stylised: uint8 ``(H, W, 3)`` generator output, the same size as ``original``.
        original: uint8 ``(H, W, 3|4)`` the generator's input (alpha ignored).
        pixel_size: the cell size the result will be quantised to; outlines are kept within one cell
            of the input's edges.
        shading: share in ``[0, 1]`` of the generator's local lightness changes kept inside regions
            (0 = none: flat regions keep the input's tone exactly).
        background: optional bool ``(H, W)`` background mask whose border also counts as an edge.
        typical: the generator's typical lightness change of the drawing (default: measured here, the
            median over the pixels outside ``background``); :func:`guide` passes the whole picture's
            when it works in strips.

    Returns:
        uint8 ``(H, W, 3)``.
    """
    _check_pair(stylised, original)
    if pixel_size < 1:
        raise ValueError(f"`pixel_size` must be >= 1, got {pixel_size}")
    if not 0.0 <= shading <= 1.0:
        raise ValueError(f"`shading` must be in [0, 1], got {shading}")
    lab_in = srgb_to_lab(np.ascontiguousarray(original[..., :3]))
    lab_gen = srgb_to_lab(np.ascontiguousarray(stylised[..., :3]))
    drop = (lab_gen[..., 0] - lab_in[..., 0]).astype(np.float32)
    near = edge_band(original, max(1, pixel_size), background=background, lightness=lab_in[..., 0])
    # a generator that darkens the whole drawing (toward its training sprites' tone) is not drawing an
    # outline: an outline pixel must be darker than the drawing's typical change, too
    if typical is None:
        typical = _typical_change(drop, background)
    outline = near & (drop < typical - OUTLINE_DROP)
    out = lab_in.copy()
    if shading > 0.0:
        # the generator's change relative to the input, its local mean (a global darkening) removed
        sigma = max(1.0, float(pixel_size))
        local = drop - cv2.GaussianBlur(drop, (0, 0), sigma)
        out[..., 0] += np.where(outline, 0.0, shading * local)
    out[..., 0] = np.where(outline, lab_gen[..., 0], out[..., 0])
    # a darkened pixel keeps the input's hue, with chroma shrunk as its lightness drops
    ratio = np.clip(out[..., 0] / np.maximum(lab_in[..., 0], 1e-3), 0.0, 1.0)
    out[..., 1:] *= np.where(outline, ratio, 1.0)[..., None]
    out[..., 0] = np.clip(out[..., 0], 0.0, 100.0)
    return lab_to_srgb(out)


def _typical_change(drop: np.ndarray, background: np.ndarray | None) -> float:
    """The median lightness change over the drawing (the pixels outside ``background``), at most 0."""
    inside = ~background if background is not None and (~background).any() else np.ones(drop.shape, bool)
    return min(0.0, float(np.median(drop[inside])))


def _strips(height: int, width: int, halo: int):
    """``(y0, y1, a0, a1)``: rows ``[y0, y1)`` of a picture cut into strips of about
    :data:`STRIP_PIXELS` pixels, each worked on with ``halo`` more rows on both sides ``[a0, a1)``."""
    rows = max(1, STRIP_PIXELS // max(1, width))
    for y0 in range(0, height, rows):
        y1 = min(height, y0 + rows)
        yield y0, y1, max(0, y0 - halo), min(height, y1 + halo)


def speckle_mask(native: np.ndarray, *, threshold: float = SPECKLE_DE, lab: np.ndarray | None = None) -> np.ndarray:
    """bool ``(h, w)``: opaque cells of a one-pixel-per-cell image whose ΔE00 to each existing opaque
    4-neighbour exceeds ``threshold`` (a cell with no such neighbour is never a speckle; with an alpha
    channel, a cell is opaque when its alpha is not 0)."""
    if native.ndim != 3 or native.shape[2] not in (3, 4):
        raise ValueError(f"`native` must be (h, w, 3|4), got {native.shape}")
    if lab is None:
        lab = srgb_to_lab(np.ascontiguousarray(native[..., :3]))
    h, w = lab.shape[:2]
    opaque = native[..., 3] > 0 if native.shape[2] == 4 else np.ones((h, w), bool)
    alone = np.ones((h, w), bool)
    has = np.zeros((h, w), bool)
    for axis, step in ((0, 1), (0, -1), (1, 1), (1, -1)):
        other = np.roll(lab, step, axis=axis)
        valid = np.roll(opaque, step, axis=axis)
        if axis == 0:
            valid[0 if step == 1 else -1, :] = False
        else:
            valid[:, 0 if step == 1 else -1] = False
        far = delta_e00(lab, other) > threshold
        alone &= ~valid | far
        has |= valid
    return alone & has & opaque


def remove_speckle(native: np.ndarray, reference: np.ndarray | None = None, *, threshold: float = SPECKLE_DE,
              keep_contrast: float = KEEP_CONTRAST_L) -> np.ndarray:
    """Replace the speckles of a one-pixel-per-cell image by a neighbour's colour (see module docstring).

    Args:
        native: uint8 ``(h, w, 3|4)`` quantised result, one pixel per cell (alpha kept).
        reference: optional uint8 ``(h, w, 3|4)``, the input reduced to the same cells (area mean).
            A speckle stays when its colour is closer to the reference's than every neighbour colour is.
        threshold: ΔE00 that makes a cell unlike a neighbour.
        keep_contrast: without ``reference``, a speckle whose L* differs from its neighbours' mean by
            at least this stays.

    Returns:
        uint8, the same shape; only speckle cells change, each to one of its 4-neighbours' colours.
    """
    if reference is not None and reference.shape[:2] != native.shape[:2]:
        raise ValueError(f"`reference` {reference.shape[:2]} and `native` {native.shape[:2]} differ in size")
    lab = srgb_to_lab(np.ascontiguousarray(native[..., :3]))
    spots = speckle_mask(native, threshold=threshold, lab=lab)
    out = native.copy()
    if not spots.any():
        return out
    h, w = spots.shape
    ref_lab = None if reference is None else srgb_to_lab(np.ascontiguousarray(reference[..., :3]))
    for y, x in zip(*np.nonzero(spots), strict=True):
        diagonal = [(y + dy, x + dx) for dy, dx in ((-1, -1), (-1, 1), (1, -1), (1, 1))
                    if 0 <= y + dy < h and 0 <= x + dx < w and (native.shape[2] == 3 or native[y + dy, x + dx, 3] > 0)]
        if any(float(delta_e00(lab[y, x], lab[p])) <= threshold for p in diagonal):
            continue  # a step of a diagonal line (an outline), not an isolated cell
        nbs = [(y + dy, x + dx) for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1))
               if 0 <= y + dy < h and 0 <= x + dx < w and (native.shape[2] == 3 or native[y + dy, x + dx, 3] > 0)]
        nb_lab = np.stack([lab[p] for p in nbs])
        if ref_lab is None:
            if abs(float(lab[y, x, 0] - nb_lab[:, 0].mean())) >= keep_contrast:
                continue
            # the neighbour colour closest to the speckle's own
            target = lab[y, x]
        else:
            target = ref_lab[y, x]
        d_nb = delta_e00(nb_lab, np.broadcast_to(target, nb_lab.shape))
        best = int(np.argmin(d_nb))
        if ref_lab is not None and float(delta_e00(lab[y, x], ref_lab[y, x])) <= float(d_nb[best]):
            continue  # the input has it too: an eye, a highlight
        out[y, x] = native[nbs[best]]
    return out


def guide(stylised: np.ndarray, original: np.ndarray, pixel_size: int, *, color_match: bool = True,
          keep_white: bool = True, keep_tone: bool = True, shading: float = 0.0) -> np.ndarray:
    """A generator's output prepared for quantisation with its input as guide; uint8 RGB in and out.

    ``keep_tone`` (:func:`transfer_tone`) takes the input's colours, lightness included, except on the
    generator's outlines; otherwise ``color_match`` copies only hue and saturation. ``keep_white``
    then restores the input's white background a cell away from the drawing (half a cell without
    ``keep_tone``)."""
    from postprocess.background import restore_white_background, white_background
    from postprocess.color import color_match as match_hue

    _check_pair(stylised, original)
    rgb = np.ascontiguousarray(original[..., :3])
    out = np.ascontiguousarray(stylised[..., :3])
    # the outline the generator draws around the drawing is about one cell wide: with keep_tone the
    # background is restored one cell away from the drawing (half a cell otherwise, as before)
    margin = max(1, pixel_size if keep_tone else pixel_size // 2)
    h, w = rgb.shape[:2]
    if keep_tone:
        background = white_background(rgb) if keep_white else None
        if h * w <= STRIP_PIXELS:
            out = transfer_tone(out, rgb, pixel_size, shading=shading, background=background)
        else:
            drop = np.empty((h, w), np.float32)
            for y0, y1, _, _ in _strips(h, w, 0):
                drop[y0:y1] = srgb_to_lab(out[y0:y1])[..., 0] - srgb_to_lab(rgb[y0:y1])[..., 0]
            typical = _typical_change(drop, background)
            del drop
            # the halo covers every neighbourhood transfer_tone looks at: the edge band (one cell plus the
            # 1-px blur and the Sobel step) and the shading blur (4 sigma = 4 cells)
            halo = 5 * max(1, pixel_size) + 8
            toned = np.empty((h, w, 3), np.uint8)
            for y0, y1, a0, a1 in _strips(h, w, halo):
                part = transfer_tone(out[a0:a1], rgb[a0:a1], pixel_size, shading=shading,
                                     background=None if background is None else background[a0:a1], typical=typical)
                toned[y0:y1] = part[y0 - a0:y1 - a0]
            out = toned
    elif color_match:
        matched = np.empty((h, w, 3), np.uint8)
        for y0, y1, _, _ in _strips(h, w, 0):  # a per-pixel step: strips without overlap
            matched[y0:y1] = match_hue(out[y0:y1], rgb[y0:y1])
        out = matched
    if keep_white:
        out = restore_white_background(out, rgb, margin)
    return out



def guided_pixelize(stylised: np.ndarray, original: np.ndarray, settings, *, color_match: bool = True,
                    keep_white: bool = True, keep_tone: bool = True, despeckle: bool = False,
                    shading: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Guide (:func:`guide`), quantise with ``settings`` (a :class:`postprocess.PixelArtSettings`), then
    :func:`remove_speckle` against the input's cells -> ``(native, palette)``. ``original`` may carry alpha;
    it is carried over to the quantised image."""
    from postprocess.metrics import area_reference
    from postprocess.pipeline import pixelize_image_with_palette

    prepared = guide(stylised, original, settings.pixel_size, color_match=color_match, keep_white=keep_white,
                     keep_tone=keep_tone, shading=shading)
    if original.shape[2] == 4:
        prepared = np.concatenate([prepared, original[..., 3:]], axis=2)
    native, palette = pixelize_image_with_palette(prepared, settings)
    if despeckle:
        reference = area_reference(original[..., :3], native.shape[:2], settings.pixel_size)
        native = remove_speckle(native, reference)
    return native, palette

