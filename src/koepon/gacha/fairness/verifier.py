"""Koepon draw verifier: re-computes a draw and checks its place in the public draw log.

Standalone on purpose: it uses the Python standard library only and nothing from Koepon, so
anyone can read it, copy it and run it (Python 3.11+):

    python verifier.py draw.json

``draw.json`` holds a draw's revealed inputs and its log proof (docs/FAIRNESS.md shows the
shape). The verifier checks (1) the revealed server seed matches its published SHA-256, (2) every
slot's outcome follows from the seeds, the nonce and the table by algorithm version 1, (3) the
log leaf is this draw, (4) the leaf is in the log under a checkpoint signed by the log's key,
and, given an older checkpoint, (5) the log only grew since (nothing was rewritten).
Exit status 0 means every check passed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import struct
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

ALGORITHM_VERSION = 1

# --- Algorithm version 1: the slot's random stream and the unbiased pick -----------------------


def random_stream(server_seed: bytes, client_seed: str, nonce: int) -> Iterator[int]:
    """HMAC-SHA256(server seed, "{client_seed}:{nonce}:{round}") as big-endian uint32s."""
    round_number = 0
    while True:
        message = f"{client_seed}:{nonce}:{round_number}".encode("ascii")
        digest = hmac.new(server_seed, message, hashlib.sha256).digest()
        for offset in range(0, 32, 4):
            yield struct.unpack(">I", digest[offset : offset + 4])[0]
        round_number += 1


def choose(weights: Sequence[int], server_seed: bytes, client_seed: str, nonce: int) -> int:
    """The index of the table line that algorithm version 1 selects for this nonce."""
    total = sum(weights)
    if not 1 <= total <= 2**32 or min(weights) < 0:
        raise ValueError("table weights must be non-negative and sum to 1..2^32")
    accept_below = 2**32 - (2**32 % total)  # the largest multiple of total that fits
    for value in random_stream(server_seed, client_seed, nonce):
        if value < accept_below:
            r = value % total
            running = 0
            for index, weight in enumerate(weights):
                running += weight
                if running > r:
                    return index
    raise AssertionError("unreachable")


# --- RFC 9162 Merkle tree proofs --------------------------------------------------------------


def _leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def inclusion_ok(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2."""
    if index >= size or index < 0:
        return False
    fn, sn, r = index, size - 1, _leaf_hash(leaf)
    for p in proof:
        if sn == 0 or len(p) != 32:
            return False
        if fn % 2 == 1 or fn == sn:
            r = _node_hash(p, r)
            while fn % 2 == 0 and fn != 0:
                fn //= 2
                sn //= 2
        else:
            r = _node_hash(r, p)
        fn //= 2
        sn //= 2
    return sn == 0 and r == root


def consistency_ok(size1: int, size2: int, root1: bytes, root2: bytes, proof: list[bytes]) -> bool:
    """RFC 9162 section 2.1.4.2."""
    if size1 > size2 or size1 < 0 or any(len(p) != 32 for p in proof):
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if size1 == 0:
        return not proof
    if not proof:
        return False
    path = ([root1] if size1 & (size1 - 1) == 0 else []) + list(proof)
    fn, sn = size1 - 1, size2 - 1
    while fn % 2 == 1:
        fn //= 2
        sn //= 2
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr, sr = _node_hash(c, fr), _node_hash(c, sr)
            while fn % 2 == 0 and fn != 0:
                fn //= 2
                sn //= 2
        else:
            sr = _node_hash(sr, c)
        fn //= 2
        sn //= 2
    return sn == 0 and fr == root1 and sr == root2


# --- Ed25519 signature verification (RFC 8032 section 5.1.7), in plain integers ----------------

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)
_Point = tuple[int, int, int, int]  # extended coordinates (X, Y, Z, T)


def _x_from_y(y: int, sign: int) -> int | None:
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        return None
    return _P - x if x & 1 != sign else x


def _point_add(a: _Point, b: _Point) -> _Point:
    k1 = (a[1] - a[0]) * (b[1] - b[0]) % _P
    k2 = (a[1] + a[0]) * (b[1] + b[0]) % _P
    k3 = 2 * a[3] * b[3] * _D % _P
    k4 = 2 * a[2] * b[2] % _P
    e, f, g, h = k2 - k1, k4 - k3, k4 + k3, k2 + k1
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _scalar_mult(scalar: int, point: _Point) -> _Point:
    result: _Point = (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            result = _point_add(result, point)
        point = _point_add(point, point)
        scalar >>= 1
    return result


def _decode_point(data: bytes) -> _Point | None:
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _x_from_y(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


def _same_point(a: _Point, b: _Point) -> bool:
    return (a[0] * b[2] - b[0] * a[2]) % _P == 0 and (a[1] * b[2] - b[1] * a[2]) % _P == 0


_BASE_Y = 4 * pow(5, _P - 2, _P) % _P
_BASE_X = _x_from_y(_BASE_Y, 0) or 0
_BASE: _Point = (_BASE_X, _BASE_Y, 1, _BASE_X * _BASE_Y % _P)


def ed25519_ok(public_key: bytes, message: bytes, signature: bytes) -> bool:
    if len(signature) != 64:
        return False
    a, r = _decode_point(public_key), _decode_point(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= _L:
        return False
    digest = hashlib.sha512(signature[:32] + public_key + message).digest()
    k = int.from_bytes(digest, "little") % _L
    return _same_point(_scalar_mult(s, _BASE), _point_add(r, _scalar_mult(k, a)))


# --- C2SP signed notes and checkpoints --------------------------------------------------------


def open_checkpoint(note: str, verifier_key: str) -> tuple[str, int, bytes]:
    """(origin, tree size, root hash) of a checkpoint note signed by ``verifier_key``."""
    name, key_hash, key_b64 = verifier_key.split("+", 2)
    key = base64.b64decode(key_b64, validate=True)
    if len(key) != 33 or key[0] != 1:
        raise ValueError("the log key is not an Ed25519 verifier key")
    key_id = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]
    if key_id.hex() != key_hash:
        raise ValueError("the log key's id does not match its name and key")
    split = note.rfind("\n\n")
    if split < 0:
        raise ValueError("the checkpoint is not a signed note")
    text = note[: split + 1]
    signed = False
    for line in note[split + 2 :].splitlines():
        signer, _, encoded = line.removeprefix("\u2014 ").partition(" ")
        raw = base64.b64decode(encoded, validate=True)
        if signer == name and raw[:4] == key_id:
            if not ed25519_ok(key[1:], text.encode(), raw[4:]):
                raise ValueError("the checkpoint's signature is not valid")
            signed = True
    if not signed:
        raise ValueError("the checkpoint is not signed by the log key")
    lines = text.split("\n")
    if lines[0] != name:
        raise ValueError(f"the checkpoint is for {lines[0]!r}, the key for {name!r}")
    return lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)


# --- The checks -------------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def _table(bundle: dict[str, Any], result: dict[str, Any]) -> tuple[list[str], list[int]]:
    lines = result.get("weights") or bundle["tables"][result["table"]]
    return [line["item_id"] for line in lines], [int(line["weight"]) for line in lines]


def verify(bundle: dict[str, Any]) -> list[Check]:
    """Every check this bundle allows; each one passed or failed with a reason."""
    checks: list[Check] = []
    if bundle.get("algorithm_version", ALGORITHM_VERSION) != ALGORITHM_VERSION:
        return [Check("algorithm", False, "this verifier knows algorithm version 1 only")]
    seed = bytes.fromhex(bundle["server_seed"])
    committed = hashlib.sha256(seed).hexdigest() == bundle["server_seed_hash"]
    checks.append(Check("server seed", committed, "SHA-256 of the revealed seed vs commitment"))
    for result in bundle["results"]:
        item_ids, weights = _table(bundle, result)
        expected = item_ids[choose(weights, seed, bundle["client_seed"], int(result["nonce"]))]
        checks.append(
            Check(
                f"slot nonce {result['nonce']}",
                expected == result["item_id"],
                f"recomputed {expected}, recorded {result['item_id']}",
            )
        )
    proof = bundle.get("proof")
    if proof is None:
        return checks
    record = json.loads(proof["leaf"])
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    logged = [(s["nonce"], s["item_id"]) for s in record.get("slots", [])]
    drawn = [(r["nonce"], r["item_id"]) for r in bundle["results"]]
    same = (
        canonical == proof["leaf"]
        and record.get("server_seed_hash") == bundle["server_seed_hash"]
        and record.get("client_seed") == bundle["client_seed"]
        and logged == drawn
    )
    checks.append(Check("log leaf", same, "the logged record is this draw, canonically encoded"))
    try:
        origin, size, root = open_checkpoint(proof["checkpoint"], bundle["log_key"])
    except (ValueError, IndexError) as error:
        checks.append(Check("checkpoint", False, str(error)))
        return checks
    checks.append(Check("checkpoint", True, f"{origin} size {size} signed by the log key"))
    path = [base64.b64decode(p, validate=True) for p in proof["proof"]]
    included = size == int(proof["tree_size"]) and inclusion_ok(
        proof["leaf"].encode("utf-8"), int(proof["leaf_index"]), size, path, root
    )
    checks.append(Check("inclusion", included, f"leaf {proof['leaf_index']} of {size}"))
    older = bundle.get("consistency")
    if older is not None:
        try:
            old_origin, old_size, old_root = open_checkpoint(older["checkpoint"], bundle["log_key"])
        except (ValueError, IndexError) as error:
            checks.append(Check("older checkpoint", False, str(error)))
            return checks
        old_path = [base64.b64decode(p, validate=True) for p in older["proof"]]
        grew = old_origin == origin and consistency_ok(old_size, size, old_root, root, old_path)
        checks.append(Check("consistency", grew, f"the log of {old_size} grew into {size}"))
    return checks


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python verifier.py draw.json", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        bundle = json.load(handle)
    try:
        checks = verify(bundle)
    except (KeyError, ValueError, TypeError) as error:
        print(f"FAIL  the file is not a draw bundle: {error!r}")
        return 1
    for check in checks:
        print(f"{'ok  ' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
    return 0 if checks and all(check.ok for check in checks) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
