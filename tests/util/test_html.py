"""util.html: the written page is parsed back and checked element by element."""
from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from util.html import HTML


class _Page(HTMLParser):
    """Collects what the tests look at: doctype, metas, title, headers, cells with their img/a/caption."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.doctype = None
        self.metas: list[dict] = []
        self.title = ""
        self.headers: list[str] = []
        self.styles = ""
        self.tables: list[list[dict]] = []  # table -> cells
        self._stack: list[str] = []
        self._cell: dict | None = None
        self.feed(text)

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("meta", "img"):  # void elements
            if tag == "meta":
                self.metas.append(a)
            elif self._cell is not None:
                self._cell["img"] = a
                self._cell["img_parent"] = self._stack[-1]
            return
        self._stack.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "td":
            self._cell = {"td": a, "caption": ""}
            self.tables[-1].append(self._cell)
        elif tag == "a" and self._cell is not None:
            self._cell["href"] = a.get("href")

    def handle_endtag(self, tag):
        assert self._stack and self._stack[-1] == tag, f"unbalanced </{tag}> after {self._stack}"
        self._stack.pop()
        if tag == "td":
            self._cell = None

    def handle_data(self, data):
        if not self._stack:
            return
        top = self._stack[-1]
        if top == "title":
            self.title += data
        elif top == "h3":
            self.headers.append(data)
        elif top == "style":
            self.styles += data
        elif top == "figcaption" and self._cell is not None:
            self._cell["caption"] += data


def _read(web_dir: Path) -> tuple[str, _Page]:
    text = (web_dir / "index.html").read_text(encoding="utf-8")
    return text, _Page(text)


def test_page_structure_and_content(tmp_path):
    web = tmp_path / "web"
    page = HTML(web, "Results <A&B>", refresh=3)
    assert web.is_dir() and (web / "images").is_dir()
    assert page.get_image_dir() == web / "images"
    page.add_header("horse_01")
    page.add_images(["horse_01_real_A.png", "horse 01#x_fake_B.png"], ["real_A", "fake & B"],
                    ["horse_01_real_A.png", "horse 01#x_fake_B.png"], width=128)
    page.add_header("horse_02")
    page.add_images(["horse_02_real_A.png"], ["real_A"], ["big/horse_02_real_A.png"], width=64)
    assert page.save() == web / "index.html"

    text, doc = _read(web)
    assert text.startswith("<!DOCTYPE html>\n")
    assert doc.doctype == "DOCTYPE html"
    assert doc.metas[0] == {"charset": "utf-8"}
    assert {"http-equiv": "refresh", "content": "3"} in doc.metas
    assert doc.title == "Results <A&B>"
    assert doc.headers == ["horse_01", "horse_02"]
    assert len(doc.tables) == 2 and [len(t) for t in doc.tables] == [2, 1]

    c0, c1 = doc.tables[0]
    assert c0["img"] == {"src": "images/horse_01_real_A.png", "alt": "real_A",
                         "style": "width: 128px; height: auto;"}
    assert c0["img_parent"] == "a" and c0["href"] == "images/horse_01_real_A.png"
    assert c0["caption"] == "real_A"
    assert c0["td"] == {"style": "width: 128px;"}
    # names with spaces and '#' are percent-encoded so the browser finds the file
    assert c1["img"]["src"] == "images/horse%2001%23x_fake_B.png"
    assert c1["href"] == "images/horse%2001%23x_fake_B.png"
    assert c1["img"]["alt"] == "fake & B" and c1["caption"] == "fake & B"
    (c2,) = doc.tables[1]
    assert c2["img"]["src"] == "images/horse_02_real_A.png"
    assert c2["href"] == "images/big/horse_02_real_A.png"
    assert c2["img"]["style"] == "width: 64px; height: auto;"
    assert c2["td"] == {"style": "width: 64px;"}


def test_style_keeps_cells_fixed_and_pixels_sharp(tmp_path):
    page = HTML(tmp_path / "w", "t")
    page.save()
    _, doc = _read(tmp_path / "w")
    css = " ".join(doc.styles.split())
    assert "table.row { table-layout: fixed;" in css
    assert "height: auto;" in css
    assert "image-rendering: pixelated; }" in css  # last declaration wins where supported
    assert "text-align: center;" in css and "vertical-align: top;" in css


def test_no_refresh_meta_by_default_and_empty_body(tmp_path):
    page = HTML(tmp_path / "w", "plain")
    page.save()
    _, doc = _read(tmp_path / "w")
    assert not any(m.get("http-equiv") == "refresh" for m in doc.metas)
    assert doc.headers == [] and doc.tables == []


def test_save_overwrites_atomically(tmp_path):
    web = tmp_path / "w"
    first = HTML(web, "one")
    first.add_header("old")
    first.save()
    second = HTML(web, "two")
    second.add_header("new")
    second.save()
    _, doc = _read(web)
    assert doc.headers == ["new"] and doc.title == "two"
    assert sorted(p.name for p in web.iterdir()) == ["images", "index.html"]  # no temp files left


def test_existing_dirs_are_reused(tmp_path):
    web = tmp_path / "w"
    (web / "images").mkdir(parents=True)
    (web / "images" / "keep.png").write_bytes(b"x")
    HTML(str(web), "t").save()
    assert (web / "images" / "keep.png").read_bytes() == b"x"


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(ims=["a.png"], txts=["a", "b"], links=["a.png"]), ValueError, r"same length, got 1, 2 and 1"),
        (dict(ims=["a.png"], txts=["a"], links=[]), ValueError, r"same length, got 1, 1 and 0"),
        (dict(ims="a.png", txts=["a"], links=["a.png"]), TypeError, r"`ims` must be a list of strings"),
        (dict(ims=["a.png"], txts=["a"], links=["a.png"], width=0), ValueError, r"`width` must be a positive int.*0"),
        (dict(ims=["a.png"], txts=["a"], links=["a.png"], width=12.5), ValueError, r"`width`.*12\.5"),
    ],
)
def test_add_images_rejects_bad_arguments(tmp_path, kwargs, exc, match):
    page = HTML(tmp_path / "w", "t")
    with pytest.raises(exc, match=match):
        page.add_images(**kwargs)


@pytest.mark.parametrize("refresh", [-1, 1.5, True])
def test_bad_refresh(tmp_path, refresh):
    with pytest.raises(ValueError, match=r"`refresh` must be an int >= 0"):
        HTML(tmp_path / "w", "t", refresh=refresh)
