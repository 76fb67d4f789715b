"""Signed tree heads as C2SP ``tlog-checkpoint`` notes (https://c2sp.org/tlog-checkpoint).

The body is the log's origin line, the tree size in decimal, the base64 root hash, and optional
extension lines; the log signs it as a signed note with its Ed25519 key.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass

from koepon.gacha.transparency.merkle import HASH_SIZE
from koepon.gacha.transparency.note import NoteError, SignerKey, VerifierKey, open_note, sign

_SIZE = re.compile(r"^(0|[1-9][0-9]*)$")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode()]
        return "".join(f"{line}\n" for line in (*lines, *self.extensions))


def parse_body(text: str) -> Checkpoint:
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "" or not lines[0] or not _SIZE.match(lines[1]):
        raise NoteError("malformed checkpoint")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except ValueError as error:
        raise NoteError("malformed checkpoint root hash") from error
    if len(root) != HASH_SIZE or any(not line for line in lines[3:-1]):
        raise NoteError("malformed checkpoint")
    return Checkpoint(lines[0], int(lines[1]), root, tuple(lines[3:-1]))


def sign_checkpoint(checkpoint: Checkpoint, signer: SignerKey) -> str:
    return sign(checkpoint.body(), signer)


def open_checkpoint(note: str, verifiers: Sequence[VerifierKey], *, origin: str) -> Checkpoint:
    """The checkpoint in a signed note, if a trusted key signed it and it is for ``origin``."""
    checkpoint = parse_body(open_note(note, verifiers).text)
    if checkpoint.origin != origin:
        raise NoteError(f"the checkpoint is for {checkpoint.origin!r}, not {origin!r}")
    return checkpoint
