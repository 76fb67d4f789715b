"""Audio excerpts, video poster frames and durations with ffmpeg, when it is installed
(``scripts/ensure-ffmpeg`` installs Debian's). Not pure: runs a program on a temporary file.

The input is untrusted, so ffmpeg gets the demuxer the bytes were sniffed as (never its own
guess: no playlists, no network), only the ``file`` protocol, a time limit and an output size
limit. Anything that goes wrong means "no excerpt", never a failed upload.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

# The demuxer for each sniffed type (``sniff.FileType.extension``).
DEMUXERS = {"mp3": "mp3", "wav": "wav", "ogg": "ogg", "m4a": "mov", "mp4": "mov", "webm": "webm"}
TIMEOUT_SECONDS = 30.0
MAX_OUTPUT = "4M"


def available() -> bool:
    return shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


async def _run(*args: str) -> bytes | None:
    process = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            out, err = await process.communicate()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        log.warning("contents.ffmpeg_timeout", program=Path(args[0]).name)
        return None
    if process.returncode != 0:
        log.info("contents.ffmpeg_failed", program=Path(args[0]).name, error=err[-300:].decode(
            "utf-8", "replace"))  # fmt: skip
        return None
    return out


async def _probe(data: bytes, extension: str) -> bytes | None:
    """ffprobe's report of the container's duration (seconds, as text) or None."""
    demuxer = DEMUXERS.get(extension)
    program = shutil.which("ffprobe")
    if demuxer is None or program is None:
        return None
    with tempfile.TemporaryDirectory(prefix="koepon-media-") as directory:
        source = Path(directory) / f"input.{extension}"
        await asyncio.to_thread(source.write_bytes, data)
        return await _run(
            program, "-v", "error", "-protocol_whitelist", "file", "-f", demuxer,
            "-i", str(source), "-show_entries", "format=duration",
            "-of", "default=noprint_wrappers=1:nokey=1",
        )  # fmt: skip


async def duration_ms(data: bytes, extension: str) -> int | None:
    out = await _probe(data, extension)
    try:
        return round(float((out or b"").strip()) * 1000) if out else None
    except ValueError:
        return None


async def _convert(data: bytes, extension: str, *output: str) -> bytes | None:
    """ffmpeg's output (written to a file in a private temporary directory) or None."""
    demuxer = DEMUXERS.get(extension)
    program = shutil.which("ffmpeg")
    if demuxer is None or program is None:
        return None
    with tempfile.TemporaryDirectory(prefix="koepon-media-") as directory:
        source = Path(directory) / f"input.{extension}"
        target = Path(directory) / "output"
        await asyncio.to_thread(source.write_bytes, data)
        done = await _run(
            program, "-nostdin", "-hide_banner", "-loglevel", "error",
            "-protocol_whitelist", "file", "-f", demuxer, "-i", str(source),
            "-map_metadata", "-1", "-fs", MAX_OUTPUT, *output, "-y", str(target),
        )  # fmt: skip
        if done is None or not target.exists():
            return None
        result = await asyncio.to_thread(target.read_bytes)
        return result or None


async def audio_excerpt(data: bytes, extension: str, *, seconds: int) -> bytes | None:
    """The first ``seconds`` of the audio as a small mono MP3 with no tags."""
    return await _convert(
        data, extension, "-t", str(seconds), "-vn", "-sn", "-dn", "-ac", "1", "-ar", "44100",
        "-b:a", "64k", "-f", "mp3",
    )  # fmt: skip


async def video_frame(data: bytes, extension: str, *, side: int) -> bytes | None:
    """One frame (a second in, or the first) as a PNG whose longest side is at most ``side``."""
    scale = f"scale='min({side},iw)':'min({side},ih)':force_original_aspect_ratio=decrease"
    for start in ("1", "0"):
        frame = await _convert(
            data, extension, "-ss", start, "-frames:v", "1", "-an", "-vf", scale,
            "-f", "image2", "-c:v", "png",
        )  # fmt: skip
        if frame:
            return frame
    return None
