"""Streaming video I/O for pixelize.py: frames in and out one at a time, memory stays flat.

Backend: the ffmpeg binary shipped by the ``imageio-ffmpeg`` package (no system ffmpeg
needed). MP4 output is H.264 (yuv420p; odd sizes are padded by one edge pixel) and keeps
the source's audio track (re-encoded to AAC) when it has one. GIF input and output use
Pillow; GIF output holds the (small) frames in memory until the end, as the format needs.
"""
from __future__ import annotations

import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from util.fileio import atomic_path
from util.image import ImageLoadError, check_pixels, save_image

logger = logging.getLogger(__name__)


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary shipped with imageio-ffmpeg."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass
class VideoReader:
    """A video opened for streaming; ``frames()`` yields uint8 RGB (H, W, 3) arrays."""

    path: str
    fps: float
    n_frames: int | None
    size: tuple[int, int]  # (width, height)
    has_audio: bool
    has_alpha: bool = False  # a GIF with transparency

    def frames(self, keep_alpha: bool = False) -> Iterator[np.ndarray]:
        """The frames; RGBA ``(H, W, 4)`` when ``keep_alpha`` and the video has transparency."""
        if Path(self.path).suffix.lower() == ".gif":
            yield from _gif_frames(self.path, "RGBA" if keep_alpha and self.has_alpha else "RGB")
            return
        import imageio_ffmpeg

        gen = imageio_ffmpeg.read_frames(self.path, pix_fmt="rgb24")
        try:
            meta = next(gen)
            w, h = meta["size"]
            for raw in gen:
                yield np.frombuffer(raw, np.uint8).reshape(h, w, 3)
        except (RuntimeError, OSError, StopIteration) as err:
            raise ValueError(f"cannot decode the video: {explain_ffmpeg_error(err)}") from err
        finally:
            gen.close()


def _gif_frames(path: str, mode: str = "RGB") -> Iterator[np.ndarray]:
    from PIL import Image, ImageSequence

    with Image.open(path) as img:
        for frame in ImageSequence.Iterator(img):
            yield np.asarray(frame.convert(mode), dtype=np.uint8).copy()


#: ffmpeg messages -> what they say about the file.
_FFMPEG_MEANINGS = (
    ("misdetection possible", "the data is not a video ffmpeg knows (not even the start of one)"),
    ("moov atom not found", "the file is truncated: its index (the MP4 'moov' atom) is missing, as after an "
                            "interrupted download or recording"),
    ("invalid data found when processing input", "the data is not a video ffmpeg knows, or it is damaged"),
    ("does not contain any stream", "the file holds no video stream"),
    ("no video stream", "the file holds no video stream"),
    ("output file does not contain any stream", "the file holds no video stream"),
    ("permission denied", "the file cannot be read (permission denied)"),
)


def explain_ffmpeg_error(err: BaseException) -> str:
    """One line saying what is wrong with the file, from an ffmpeg error (its last line if unknown)."""
    text = str(err).strip()
    lowered = text.lower()
    for needle, meaning in _FFMPEG_MEANINGS:
        if needle in lowered:
            return meaning
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"ffmpeg says: {lines[-1]}" if lines else type(err).__name__


def open_video(path: str | os.PathLike, max_pixels: int | None = None) -> VideoReader:
    """Open a video (mp4/avi/mov/mkv/webm via ffmpeg, gif via Pillow); ValueError if unreadable.

    A GIF whose frames exceed ``max_pixels`` (default ``util.image.MAX_PIXELS``) is refused like
    an image of that size.
    """
    path = str(path)
    if os.path.getsize(path) == 0:
        raise ValueError("empty file (0 bytes)")
    if Path(path).suffix.lower() == ".gif":
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as img:
                check_pixels(path, img.size, max_pixels)
                alpha = "transparency" in img.info or img.mode in ("RGBA", "LA", "PA")
                duration_ms = img.info.get("duration") or 100
                n = getattr(img, "n_frames", 1)
                return VideoReader(path, 1000.0 / duration_ms, n, img.size, False, alpha)
        except ImageLoadError as err:
            raise ValueError(err.reason) from err
        except (UnidentifiedImageError, OSError) as err:
            raise ValueError(f"not a readable GIF ({err})") from err
    import imageio_ffmpeg

    try:
        gen = imageio_ffmpeg.read_frames(path, pix_fmt="rgb24")
        meta = next(gen)
        gen.close()
    except (RuntimeError, OSError, StopIteration) as err:
        raise ValueError(f"not a readable video: {explain_ffmpeg_error(err)}") from err
    fps = float(meta.get("fps") or 25.0)
    duration = meta.get("duration")
    n_frames = int(round(duration * fps)) if duration and np.isfinite(duration) else None
    return VideoReader(path, fps, n_frames, tuple(meta["size"]), bool(meta.get("audio_codec")))


#: Largest frame side libx264 encodes.
H264_MAX_SIDE = 16384


def _even(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    if h % 2 or w % 2:
        frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    return frame


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], *, fps: float, fmt: str = "mp4",
                upscale: int = 1, crop_to: tuple[int, int] | None = None, audio_from: str | None = None,
                first_frame_to: str | os.PathLike | None = None,
                total: int | None = None, desc: str = "video") -> int:
    """Write uint8 RGB frames to ``path`` atomically; returns the number of frames written.

    ``upscale``: integer nearest-neighbour factor applied to every frame on writing (GIF keeps
    the small native frames in memory and enlarges them only when the file is written).
    ``crop_to``: ``(height, width)`` to cut the enlarged frames to (partial edge cells).
    ``audio_from``: copy that file's first audio track into the MP4, if it has one.
    ``first_frame_to``: also save the first frame as a PNG (for the HTML page).
    A progress bar shows frames as they are written.
    """
    from tqdm import tqdm

    path = Path(path)
    bar = tqdm(total=total, desc=desc, unit="frame", leave=False, dynamic_ncols=True)
    count = 0
    try:
        if fmt == "gif":
            kept: list[np.ndarray] = []
            for frame in frames:
                if count == 0 and first_frame_to is not None:
                    save_image(first_frame_to, _enlarge(frame, upscale, crop_to))
                kept.append(frame)
                count += 1
                bar.update(1)
            if count:
                _write_gif(path, kept, fps, upscale, crop_to)
            return count
        if fmt != "mp4":
            raise ValueError(f"--video_format must be mp4 or gif, got {fmt!r}")
        import imageio_ffmpeg

        with atomic_path(path) as tmp_video:
            writer = None
            try:
                for frame in frames:
                    frame = _even(np.ascontiguousarray(_enlarge(frame, upscale, crop_to)[..., :3]))
                    if writer is None:
                        h, w = frame.shape[:2]
                        if max(h, w) > H264_MAX_SIDE:
                            raise ValueError(f"the output frames would be {w}x{h}, above the {H264_MAX_SIDE} px per "
                                             "side that H.264 (MP4) allows; lower --upscale or use --video_format gif")
                        if first_frame_to is not None:
                            save_image(first_frame_to, frame)
                        writer = imageio_ffmpeg.write_frames(str(tmp_video), (w, h), fps=fps, codec="libx264",
                                                             pix_fmt_out="yuv420p", macro_block_size=1,
                                                             output_params=["-crf", "18"], ffmpeg_log_level="fatal")
                        writer.send(None)
                    try:
                        writer.send(frame)
                    except (OSError, RuntimeError) as err:
                        raise ValueError(f"the H.264 encoder stopped on {w}x{h} frames at {fps:g} fps "
                                         f"({explain_ffmpeg_error(err)}); try --video_format gif") from err
                    count += 1
                    bar.update(1)
            finally:
                if writer is not None:
                    writer.close()
            if count == 0:
                raise ValueError("the video has no frames")
            if tmp_video.stat().st_size == 0:
                raise ValueError(f"the H.264 encoder wrote nothing for {count} frame(s) of {w}x{h} at {fps:g} fps; "
                                 "try --video_format gif")
            if audio_from is not None:
                _mux_audio(tmp_video, audio_from)
        return count
    finally:
        bar.close()


def _enlarge(frame: np.ndarray, factor: int, crop_to: tuple[int, int] | None = None) -> np.ndarray:
    if factor != 1:
        frame = np.repeat(np.repeat(frame, factor, axis=0), factor, axis=1)
    return frame if crop_to is None else frame[: crop_to[0], : crop_to[1]]


def _write_gif(path: Path, frames: list[np.ndarray], fps: float, upscale: int = 1,
               crop_to: tuple[int, int] | None = None) -> None:
    from PIL import Image

    alpha = frames[0].shape[2] == 4
    images = [Image.fromarray(np.ascontiguousarray(_enlarge(f, upscale, crop_to)[..., :4 if alpha else 3]))
              for f in frames]
    with atomic_path(path) as tmp:
        # with transparency each frame replaces the last (disposal 2), else it is drawn over it (1)
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                       duration=max(20, int(round(1000 / fps))), loop=0, optimize=False, disposal=2 if alpha else 1)


def _mux_audio(video_path: Path, audio_source: str) -> None:
    """Replace ``video_path`` by itself plus ``audio_source``'s first audio track (if any)."""
    muxed = video_path.with_name(video_path.stem + ".mux.mp4")
    cmd = [ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(video_path), "-i", audio_source,
           "-map", "0:v:0", "-map", "1:a:0?", "-c:v", "copy", "-c:a", "aac", "-shortest", str(muxed)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        logger.warning("could not copy the audio of %s (%s); the output has no sound",
                       audio_source, result.stderr.strip()[-200:])
        muxed.unlink(missing_ok=True)
        return
    os.replace(muxed, video_path)
