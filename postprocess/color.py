"""Colour science for pixel art: sRGB <-> CIELAB (D65), CIEDE2000, vividness and colour transfer.

All functions work on whole arrays (numpy, with compiled kernels from :mod:`postprocess._kernels`
for the conversions) and accept any leading shape ``(..., 3)``.

* sRGB values are ``uint8`` in ``[0, 255]`` or floats in ``[0, 255]``;
* CIELAB values are ``float64`` (or ``float32`` where stated), ``L*`` in ``[0, 100]``,
  ``a*``/``b*`` roughly in ``[-128, 127]``, D65 white, 2-degree observer.
"""
from __future__ import annotations

import logging

import cv2
import numpy as np

from postprocess import _kernels

# CIEDE2000 constants, defined once in ``reference`` and shared with the scalar kernel ``_kernels.de00``.
from postprocess.reference import COS6 as _COS6
from postprocess.reference import COS30 as _COS30
from postprocess.reference import COS63 as _COS63
from postprocess.reference import INV_RAD25 as _INV_RAD25
from postprocess.reference import POW25_7 as _POW25_7
from postprocess.reference import RAD30 as _RAD30
from postprocess.reference import RAD275 as _RAD275
from postprocess.reference import SIN6 as _SIN6
from postprocess.reference import SIN30 as _SIN30
from postprocess.reference import SIN63 as _SIN63
from postprocess.reference import TWO_PI as _TWO_PI

logger = logging.getLogger(__name__)

__all__ = [
    "srgb_to_lab",
    "lab_to_srgb",
    "delta_e00",
    "lab_chroma",
    "to_de_space",
    "from_de_space",
    "adjust_vividness",
    "color_match",
    "check_image",
    "check_factor",
]

# sRGB (D65) primaries -> CIE XYZ, IEC 61966-2-1.
_RGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ)
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])
_EPS = 216.0 / 24389.0  # (6/29)^3
_KAPPA = 24389.0 / 27.0

# Linearisation tables: exact at the 256 uint8 levels, and at multiples of 1/64 for float input
# (linear interpolation between them is within 1e-8 of the power law, far below display precision).
_FINE_STEPS = 64


def _power_law(c: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] -> linear light (IEC 61966-2-1)."""
    return np.where(c <= 0.04045, c / 12.92, ((np.maximum(c, 0.04045) + 0.055) / 1.055) ** 2.4)


_LIN_LUT = _power_law(np.arange(256) / 255.0)
_LIN_FINE = _power_law(np.arange(255 * _FINE_STEPS + 1) / _FINE_STEPS / 255.0)
#: sRGB -> XYZ divided by the white point, row by row.
_RGB_TO_XYZN = _RGB_TO_XYZ / _WHITE_D65[:, None]
#: Normalised XYZ -> linear sRGB.
_XYZN_TO_RGB = _XYZ_TO_RGB * _WHITE_D65[None, :]


def _check_last3(arr: np.ndarray, name: str) -> np.ndarray:
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"`{name}` must be a numpy array, got {type(arr).__name__}")
    if arr.ndim < 1 or arr.shape[-1] != 3:
        raise ValueError(f"`{name}` must have shape (..., 3), got {arr.shape}")
    return arr


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB ``(..., 3)`` (uint8, or float in [0, 255]) -> CIELAB ``(..., 3)`` float64 (D65)."""
    rgb = _check_last3(rgb, "rgb")
    flat = rgb.reshape(-1, 3)
    if flat.dtype == np.uint8:
        xyz = _kernels.srgb_u8_to_xyzn(np.ascontiguousarray(flat), _LIN_LUT, _RGB_TO_XYZN)
    else:
        flat = np.ascontiguousarray(flat, dtype=np.float64)
        xyz = _kernels.srgb_float_to_xyzn(flat, _LIN_FINE, float(_FINE_STEPS), _RGB_TO_XYZN)
    return _kernels.xyzn_to_lab(xyz, np.cbrt(xyz), _EPS, _KAPPA).reshape(rgb.shape)


def lab_to_srgb(lab: np.ndarray, *, as_uint8: bool = True) -> np.ndarray:
    """CIELAB ``(..., 3)`` -> sRGB ``(..., 3)``: uint8 (rounded, gamut-clipped) or float64 in [0, 255]."""
    lab = _check_last3(lab, "lab")
    flat = np.ascontiguousarray(np.asarray(lab, dtype=np.float64).reshape(-1, 3))
    lin = _kernels.lab_to_linear(flat, _XYZN_TO_RGB, _EPS, _KAPPA)
    rgb = _kernels.linear_to_srgb(lin, np.power(np.maximum(lin, 0.0031308), 1 / 2.4), bool(as_uint8))
    return (rgb.astype(np.uint8) if as_uint8 else rgb).reshape(lab.shape)


def lab_chroma(lab: np.ndarray) -> np.ndarray:
    """C*ab = sqrt(a*^2 + b*^2) of a CIELAB array ``(..., 3)`` -> ``(...)`` float."""
    a, b = lab[..., 1], lab[..., 2]
    return np.sqrt(a * a + b * b)




def _pow7(x: np.ndarray) -> np.ndarray:
    """``x ** 7`` by three multiplications (float64)."""
    x2 = x * x
    return x2 * x2 * x2 * x


def delta_e00(lab1: np.ndarray, lab2: np.ndarray, *, kl: float = 1.0, kc: float = 1.0, kh: float = 1.0) -> np.ndarray:
    """CIEDE2000 colour difference between two CIELAB arrays broadcast together ``(..., 3)`` -> ``(...)``.

    Implements the formula of Sharma, Wu and Dalal (2005) including the hue-angle
    special cases; results agree with the paper's test data to 1e-4.
    """
    lab1 = np.asarray(lab1, dtype=np.float64)
    lab2 = np.asarray(lab2, dtype=np.float64)
    l1, a1, b1 = lab1[..., 0], lab1[..., 1], lab1[..., 2]
    l2, a2, b2 = lab2[..., 0], lab2[..., 1], lab2[..., 2]
    # Angles in radians throughout; the multiple-angle terms of T come from one cos/sin pair.
    c_bar = 0.5 * (np.sqrt(a1 * a1 + b1 * b1) + np.sqrt(a2 * a2 + b2 * b2))
    c7 = _pow7(c_bar)
    g1 = 1.5 - 0.5 * np.sqrt(c7 / (c7 + _POW25_7))  # 1 + G
    a1p = g1 * a1
    a2p = g1 * a2
    c1p = np.sqrt(a1p * a1p + b1 * b1)
    c2p = np.sqrt(a2p * a2p + b2 * b2)
    h1p = np.arctan2(b1, a1p)
    h1p = np.where(h1p < 0.0, h1p + _TWO_PI, h1p)
    h2p = np.arctan2(b2, a2p)
    h2p = np.where(h2p < 0.0, h2p + _TWO_PI, h2p)
    dlp = l2 - l1
    dcp = c2p - c1p
    cprod = c1p * c2p
    zero = cprod == 0.0
    dh = h2p - h1p
    dh = np.where(dh > np.pi, dh - _TWO_PI, np.where(dh < -np.pi, dh + _TWO_PI, dh))
    dhp = np.where(zero, 0.0, 2.0 * np.sqrt(cprod) * np.sin(0.5 * dh))
    lbp = 0.5 * (l1 + l2)
    cbp = 0.5 * (c1p + c2p)
    hsum = h1p + h2p
    hbp = np.where(
        np.abs(h1p - h2p) <= np.pi, 0.5 * hsum, np.where(hsum < _TWO_PI, 0.5 * hsum + np.pi, 0.5 * hsum - np.pi)
    )
    hbp = np.where(zero, hsum, hbp)
    co1 = np.cos(hbp)
    si1 = np.sin(hbp)
    co2 = co1 * co1 - si1 * si1
    si2 = 2.0 * si1 * co1
    co3 = co2 * co1 - si2 * si1
    si3 = si2 * co1 + co2 * si1
    co4 = co2 * co2 - si2 * si2
    si4 = 2.0 * si2 * co2
    t = (
        1.0
        - 0.17 * (co1 * _COS30 + si1 * _SIN30)  # cos(h - 30 deg)
        + 0.24 * co2  # cos(2h)
        + 0.32 * (co3 * _COS6 - si3 * _SIN6)  # cos(3h + 6 deg)
        - 0.20 * (co4 * _COS63 + si4 * _SIN63)  # cos(4h - 63 deg)
    )
    z = (hbp - _RAD275) * _INV_RAD25
    d_theta = _RAD30 * np.exp(-(z * z))  # radians
    cbp7 = _pow7(cbp)
    rc = 2.0 * np.sqrt(cbp7 / (cbp7 + _POW25_7))
    lb50 = (lbp - 50.0) ** 2
    sl = 1.0 + 0.015 * lb50 / np.sqrt(20.0 + lb50)
    sc = 1.0 + 0.045 * cbp
    sh = 1.0 + 0.015 * cbp * t
    rt = -np.sin(2.0 * d_theta) * rc
    tl = dlp / (kl * sl)
    tc = dcp / (kc * sc)
    th = dhp / (kh * sh)
    return np.sqrt(np.maximum(tl * tl + tc * tc + th * th + rt * tc * th, 0.0))


#: Chroma compression of :func:`to_de_space` (the CIEDE2000 chroma weight ``S_C = 1 + 0.045 C``).
_SC_K = 0.045


def _warp(x: np.ndarray, inverse: bool) -> np.ndarray:
    x = np.asarray(x, np.float64)
    flat = np.ascontiguousarray(x.reshape(-1, 3))
    kc = _kernels.scaled_chroma(flat, _SC_K)
    new_kc = np.expm1(kc) if inverse else np.log1p(kc)  # numpy's vectorised transcendentals
    return _kernels.rescale_chroma(flat, kc, new_kc, _SC_K * 1e-9).reshape(x.shape)


def to_de_space(lab: np.ndarray) -> np.ndarray:
    """CIELAB ``(..., 3)`` -> a space where Euclidean distance approximates CIEDE2000 (float64).

    ``L*`` and hue angle are kept; chroma ``C`` becomes ``ln(1 + 0.045 C) / 0.045``, the integral
    of CIEDE2000's chroma weight ``1 / S_C``, so saturated colours are not over-weighted.
    """
    return _warp(lab, inverse=False)


def from_de_space(u: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_de_space` -> CIELAB float64 ``(..., 3)``."""
    return _warp(u, inverse=True)


def check_image(image: np.ndarray, name: str = "image") -> None:
    """Validate an image argument: uint8 ``(H, W, 3|4)``, not empty; errors name ``name``."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"`{name}` must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise TypeError(f"`{name}` must be uint8 in [0, 255], got dtype {image.dtype}; convert it first")
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"`{name}` must have shape (H, W, 3) or (H, W, 4), got {image.shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"`{name}` must not be empty, got shape {image.shape}")


def check_factor(value: float, name: str) -> float:
    """Validate a finite number ``>= 0`` named ``name``; returns it as float."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"`{name}` must be a number, got {type(value).__name__}")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"`{name}` must be a finite number >= 0 (1.0 = unchanged), got {value}")
    return float(value)


def adjust_lab(lab: np.ndarray, saturation: float = 1.0, contrast: float = 1.0) -> np.ndarray:
    """Scale chroma by ``saturation`` and stretch ``L*`` about 50 by ``contrast`` on a CIELAB array.

    Hue is kept; ``L*`` is clipped to [0, 100]. ``(1.0, 1.0)`` returns the input unchanged.
    """
    out = np.array(lab, dtype=np.float64, copy=True)
    if contrast != 1.0:
        out[..., 0] = np.clip(50.0 + (out[..., 0] - 50.0) * contrast, 0.0, 100.0)
    if saturation != 1.0:
        out[..., 1:] *= saturation
    return out


def adjust_vividness(image: np.ndarray, saturation: float = 1.0, contrast: float = 1.0) -> np.ndarray:
    """Colour shifting: scale CIELAB chroma by ``saturation`` and lightness contrast by ``contrast``.

    Args:
        image: uint8 ``(H, W, 3|4)``; alpha is passed through unchanged.
        saturation: chroma factor, ``>= 0`` (0 = grey, 1 = unchanged, 1.3 = more vivid).
        contrast: ``L*`` stretch about mid-grey, ``>= 0`` (1 = unchanged).

    Returns:
        uint8 array of the same shape; the identity for ``(1.0, 1.0)``.
    """
    check_image(image)
    saturation = check_factor(saturation, "saturation")
    contrast = check_factor(contrast, "contrast")
    if saturation == 1.0 and contrast == 1.0:
        return image.copy()
    out = image.copy()
    out[..., :3] = lab_to_srgb(adjust_lab(srgb_to_lab(image[..., :3]), saturation, contrast))
    return out


def color_match(src_output: np.ndarray, reference_input: np.ndarray, *, strength: float = 1.0) -> np.ndarray:
    """Copy hue and saturation (CIELAB a*b*) from ``reference_input`` onto ``src_output``.

    Fixes the colour shift / desaturation of a neural stylisation: lightness (the
    stylised structure) comes from ``src_output``, the chroma plane from the
    reference. The reference is area-resized to the output's size first, so a
    native-resolution output can be matched to a full-size input.

    Args:
        src_output: uint8 ``(H, W, 3|4)``, e.g. the generator's output; alpha is kept.
        reference_input: uint8 ``(H2, W2, 3|4)``, the original input (alpha ignored).
        strength: 0 = unchanged, 1 = full transfer; values in between blend a*b*.

    Returns:
        uint8 ``(H, W, 3|4)``, same shape as ``src_output``.
    """
    check_image(src_output, "src_output")
    check_image(reference_input, "reference_input")
    strength = check_factor(strength, "strength")
    if strength > 1.0:
        raise ValueError(f"`strength` must be in [0, 1], got {strength}")
    h, w = src_output.shape[:2]
    ref = reference_input[..., :3]
    if ref.shape[:2] != (h, w):
        interp = cv2.INTER_AREA if ref.shape[0] >= h and ref.shape[1] >= w else cv2.INTER_LINEAR
        ref = cv2.resize(np.ascontiguousarray(ref), (w, h), interpolation=interp)
    lab_out = srgb_to_lab(src_output[..., :3])
    lab_ref = srgb_to_lab(ref)
    lab_out[..., 1:] = (1.0 - strength) * lab_out[..., 1:] + strength * lab_ref[..., 1:]
    out = src_output.copy()
    out[..., :3] = lab_to_srgb(lab_out)
    return out
