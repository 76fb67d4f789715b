"""Local-disk object storage (the embedded default): one file per key under a root directory.

A write goes to a temporary file in the same directory and is renamed into place, so a reader
never sees half an object and a crash leaves no partial one. Local disk cannot sign URLs: the
service serves the bytes itself (``presigned_get`` returns None).

Like S3, only files are objects: a key that names a directory (``a`` when ``a/b`` exists) has no
object. Unlike S3, ``a`` and ``a/b`` cannot both exist on disk: writing the second is refused
(``StorageError``). Any other disk failure (full, permissions) is a ``StorageError`` too.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from stat import S_ISREG

from koepon.kernel.storage import ObjectNotFound, PresignedUpload, StorageError, check_key


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        # A trailing "/" names no file (S3 would store "a/" apart from "a"; disk cannot).
        if key.endswith("/"):
            raise ValueError(f"Not a storage key: {key!r}")
        path = (self.root / check_key(key)).resolve()
        if self.root not in path.parents:
            raise ValueError(f"Not a storage key: {key!r}")
        return path

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        path = self._path(key)
        try:
            await asyncio.to_thread(self._write, path, data)
        except OSError as exc:
            raise StorageError(f"Cannot write {key!r}: {type(exc).__name__}") from exc

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            with_suppressed_unlink(temporary)
            raise

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise ObjectNotFound(key) from exc
        except OSError as exc:
            raise StorageError(f"Cannot read {key!r}: {type(exc).__name__}") from exc

    async def size(self, key: str) -> int | None:
        path = self._path(key)
        try:
            stat = await asyncio.to_thread(path.stat)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise StorageError(f"Cannot stat {key!r}: {type(exc).__name__}") from exc
        return stat.st_size if S_ISREG(stat.st_mode) else None

    async def delete(self, key: str) -> None:
        path = self._path(key)

        def remove() -> None:
            if path.is_file():
                path.unlink(missing_ok=True)

        try:
            await asyncio.to_thread(remove)
        except OSError as exc:
            raise StorageError(f"Cannot delete {key!r}: {type(exc).__name__}") from exc

    async def keys(self, prefix: str) -> list[str]:
        def walk() -> list[str]:
            if not self.root.exists():
                return []
            found = []
            for path in self.root.rglob("*"):
                if path.is_file() and not path.name.startswith(".part-"):
                    key = path.relative_to(self.root).as_posix()
                    if key.startswith(prefix):
                        found.append(key)
            return sorted(found)

        return await asyncio.to_thread(walk)

    async def presigned_get(
        self, key: str, *, expires_seconds: int, filename: str, content_type: str
    ) -> str | None:
        self._path(key)  # a bad key is refused here too, as by every adapter
        return None

    async def presigned_put(
        self, key: str, *, expires_seconds: int, content_type: str
    ) -> PresignedUpload | None:
        self._path(key)
        return None

    async def close(self) -> None:
        return None


def with_suppressed_unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
