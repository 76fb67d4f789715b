"""C2SP signed notes with Ed25519 keys (https://c2sp.org/signed-note).

A note is UTF-8 text ending in a newline, a blank line, then signature lines
``— <key name> <base64(key id || signature)>``. The key id is the first 4 bytes of
SHA-256(name || 0x0A || 0x01 || public key); a verifier key is
``<name>+<hex key id>+<base64(0x01 || public key)>`` and a signer key
``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>`` (the Go sumdb/note forms).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
SIGNATURE_PREFIX = "— "  # em dash U+2014, then a space
MAX_SIGNATURES = 100


class NoteError(ValueError):
    """The note is malformed, or not signed by a trusted key, or a trusted signature is bad."""


@dataclass(frozen=True)
class VerifierKey:
    name: str
    key_id: bytes
    public_key: bytes

    def __str__(self) -> str:
        encoded = base64.b64encode(bytes([ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"


@dataclass(frozen=True)
class SignerKey:
    name: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def verifier(self) -> VerifierKey:
        return VerifierKey(self.name, key_id(self.name, self.public_key), self.public_key)

    def __str__(self) -> str:
        seed = self.private_key.private_bytes_raw()
        encoded = base64.b64encode(bytes([ED25519]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id.hex()}+{encoded}"


def valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise NoteError("malformed base64") from error


def parse_verifier_key(text: str) -> VerifierKey:
    name, _, rest = text.partition("+")
    hex_id, _, encoded = rest.partition("+")
    if not valid_name(name) or len(hex_id) != 8 or not encoded:
        raise NoteError("malformed verifier key")
    key = _b64(encoded)
    if len(key) != 33 or key[0] != ED25519:
        raise NoteError("a verifier key is an Ed25519 public key")
    verifier = VerifierKey(name, key_id(name, key[1:]), key[1:])
    if verifier.key_id.hex() != hex_id:
        raise NoteError("the verifier key's id does not match its name and key")
    return verifier


def parse_signer_key(text: str) -> SignerKey:
    parts = text.split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"] or not valid_name(parts[2]):
        raise NoteError("malformed signer key")
    seed = _b64(parts[4])
    if len(seed) != 33 or seed[0] != ED25519:
        raise NoteError("a signer key is an Ed25519 seed")
    signer = SignerKey(parts[2], Ed25519PrivateKey.from_private_bytes(seed[1:]))
    if signer.verifier.key_id.hex() != parts[3]:
        raise NoteError("the signer key's id does not match its name and key")
    return signer


def new_signer_key(name: str) -> SignerKey:
    if not valid_name(name):
        raise NoteError("a key name is non-empty with no spaces or '+'")
    return SignerKey(name, Ed25519PrivateKey.generate())


def _check_text(text: str) -> None:
    if not text.endswith("\n") or "\n\n" in text:
        raise NoteError("note text ends in a newline and has no blank line")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("note text has no control characters")


def sign(text: str, signer: SignerKey) -> str:
    """The signed note of ``text`` (Ed25519 is deterministic: same text, same note)."""
    _check_text(text)
    signature = signer.private_key.sign(text.encode())
    encoded = base64.b64encode(signer.verifier.key_id + signature).decode()
    return f"{text}\n{SIGNATURE_PREFIX}{signer.name} {encoded}\n"


@dataclass(frozen=True)
class OpenedNote:
    text: str
    verified_by: tuple[str, ...]


def open_note(note: str, verifiers: Sequence[VerifierKey]) -> OpenedNote:
    """The text of ``note`` if a trusted key signed it; unknown keys' signatures are ignored."""
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise NoteError("malformed note")
    text, lines = note[: split + 1], note[split + 2 :].splitlines()
    _check_text(text)
    if not lines or len(lines) > MAX_SIGNATURES:
        raise NoteError("malformed note")
    trusted = {(v.name, v.key_id): v for v in verifiers}
    verified: list[str] = []
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError("malformed signature line")
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        if not valid_name(name) or " " in encoded:
            raise NoteError("malformed signature line")
        raw = _b64(encoded)
        if len(raw) < 5:
            raise NoteError("malformed signature")
        verifier = trusted.get((name, raw[:4]))
        if verifier is None:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(verifier.public_key).verify(raw[4:], text.encode())
        except InvalidSignature as error:
            raise NoteError(f"invalid signature for key {name}+{raw[:4].hex()}") from error
        verified.append(name)
    if not verified:
        raise NoteError("the note has no signature by a trusted key")
    return OpenedNote(text, tuple(verified))
