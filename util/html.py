"""Static HTML result pages (``index.html`` next to an ``images/`` folder), built with ``dominate``.

Used by ``test.py`` (``results/<name>/<phase>_<epoch>/index.html``) and by the training
:class:`util.visualizer.Visualizer` (``checkpoints/<name>/web/index.html``).

Each :meth:`HTML.add_images` call adds one table row; every cell is a fixed-width column
holding a linked image and its caption, so the images of one input line up side by side.
Images keep their aspect ratio (``width`` set, ``height: auto``) and are drawn with
``image-rendering: pixelated`` so that upscaled pixel art stays sharp.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence
from urllib.parse import quote

import dominate
from dominate import tags

from util.fileio import atomic_write_text

logger = logging.getLogger(__name__)

_STYLE = """
body { font-family: sans-serif; margin: 12px; background: #fff; color: #111; }
h3 { margin: 18px 0 6px 0; }
table.row { table-layout: fixed; border-collapse: collapse; margin-bottom: 8px; }
table.row td { border: 1px solid #999; padding: 4px; vertical-align: top; text-align: center;
               overflow-wrap: anywhere; word-wrap: break-word; }
table.row figure { margin: 0; }
table.row img { display: block; height: auto; max-width: none;
                image-rendering: crisp-edges; image-rendering: pixelated; }
table.row figcaption { margin-top: 4px; font-size: 14px; }
"""


class HTML:
    """One HTML page ``<web_dir>/index.html`` whose images live in ``<web_dir>/images/``.

    Args:
        web_dir: folder of the page; it and ``images/`` inside it are created.
        title: page title (``<title>``), HTML-escaped.
        refresh: if > 0, the browser reloads the page every ``refresh`` seconds.
        image_dir: the folder under ``web_dir`` that :meth:`add_images` names are relative to
            (default ``"images"``, created); ``None``: the names are paths relative to ``web_dir``
            itself (no folder is created), e.g. for a page shown beside files already in place.
    """

    def __init__(self, web_dir: str | os.PathLike, title: str, refresh: int = 0, image_dir: str | None = "images"):
        if isinstance(refresh, bool) or not isinstance(refresh, int) or refresh < 0:
            raise ValueError(f"`refresh` must be an int >= 0 (seconds; 0 = no auto-reload), got {refresh!r}")
        self.title = str(title)
        self.web_dir = Path(web_dir)
        self._prefix = "" if image_dir is None else f"{image_dir}/"
        self.img_dir = self.web_dir if image_dir is None else self.web_dir / image_dir
        self.img_dir.mkdir(parents=True, exist_ok=True)
        self.refresh = refresh

        self.doc = dominate.document(title=None, lang="en")
        with self.doc.head:
            tags.meta(charset="utf-8")  # first in <head>, before any text
            tags.title(self.title)
            tags.meta(name="viewport", content="width=device-width, initial-scale=1")
            if refresh > 0:
                tags.meta(http_equiv="refresh", content=str(refresh))
            tags.style(_STYLE)

    def get_image_dir(self) -> Path:
        """Folder where the page's images must be written (``<web_dir>/images``; ``web_dir`` without an image_dir)."""
        return self.img_dir

    def add_header(self, text: str) -> None:
        """Append an ``<h3>`` heading (text is HTML-escaped)."""
        with self.doc:
            tags.h3(str(text))

    def add_images(self, ims: Sequence[str], txts: Sequence[str], links: Sequence[str], width: int = 400) -> None:
        """Append one table row with one cell per image.

        Args:
            ims: file names inside ``images/`` (the image_dir) shown in the cells.
            txts: one caption per image (also the ``alt`` text).
            links: file names inside ``images/`` (the image_dir) the images link to (usually ``ims``).
            width: displayed width of every image and cell, in CSS pixels (> 0).
        """
        for arg_name, arg in (("ims", ims), ("txts", txts), ("links", links)):
            if isinstance(arg, (str, bytes)):
                raise TypeError(f"`{arg_name}` must be a list of strings, not a single string {arg!r}")
        ims, txts, links = list(ims), list(txts), list(links)
        if not (len(ims) == len(txts) == len(links)):
            raise ValueError(
                f"`ims`, `txts` and `links` must have the same length, got {len(ims)}, {len(txts)} and {len(links)}"
            )
        if isinstance(width, bool) or not isinstance(width, int) or width <= 0:
            raise ValueError(f"`width` must be a positive int (pixels), got {width!r}")
        cell_style = f"width: {width}px;"
        img_style = f"width: {width}px; height: auto;"
        with self.doc:
            with tags.table(cls="row"):
                with tags.tr():
                    for im, txt, link in zip(ims, txts, links, strict=True):
                        with tags.td(style=cell_style):
                            with tags.figure():
                                with tags.a(href=_image_url(link, self._prefix)):
                                    tags.img(src=_image_url(im, self._prefix), alt=str(txt), style=img_style)
                                tags.figcaption(str(txt))

    def render(self) -> str:
        """The page as an HTML5 string."""
        return self.doc.render()

    def save(self) -> Path:
        """Write ``<web_dir>/index.html`` atomically and return its path."""
        path = self.web_dir / "index.html"
        atomic_write_text(path, self.render())
        logger.debug("wrote %s", path)
        return path


def _image_url(name: str, prefix: str = "images/") -> str:
    """Relative, percent-encoded URL of ``<prefix><name>`` (``#``, ``?``, spaces are safe)."""
    return quote(f"{prefix}{name}")
