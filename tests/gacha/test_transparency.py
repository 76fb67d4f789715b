"""The draw log: RFC 9162 trees and proofs (known vectors), tamper evidence, C2SP checkpoints."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from koepon.gacha.transparency.checkpoint import (
    Checkpoint,
    open_checkpoint,
    parse_body,
    sign_checkpoint,
)
from koepon.gacha.transparency.leaf import canonical_json, draw_record, leaf_bytes
from koepon.gacha.transparency.merkle import (
    MemoryLog,
    ProofError,
    empty_root,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from koepon.gacha.transparency.note import (
    NoteError,
    key_id,
    new_signer_key,
    open_note,
    parse_signer_key,
    parse_verifier_key,
    sign,
)

# Known-answer vectors of RFC 6962/9162 trees (the transparency-dev/merkle test data): eight
# leaves, the root of every prefix, and some inclusion and consistency proofs.
LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]  # fmt: skip
ROOTS = [bytes.fromhex(h) for h in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]  # fmt: skip
H = {
    "96a2": "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f08": "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47": "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    "bc1a": "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "ca85": "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37e": "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "fac5": "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "6e34": "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "0ebc": "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "b086": "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
}
INCLUSION = [  # (leaf index, tree size, proof)
    (0, 8, ["96a2", "5f08", "6b47"]),
    (5, 8, ["bc1a", "ca85", "d37e"]),
    (2, 3, ["fac5"]),
    (1, 5, ["6e34", "5f08", "bc1a"]),
]
CONSISTENCY = [  # (first size, second size, proof)
    (1, 8, ["96a2", "5f08", "6b47"]),
    (6, 8, ["0ebc", "ca85", "d37e"]),
    (2, 5, ["5f08", "bc1a"]),
    (6, 7, ["0ebc", "b086", "d37e"]),
]


def known_log() -> MemoryLog:
    log = MemoryLog()
    for leaf in LEAVES:
        log.append(leaf)
    return log


def test_tree_hashes_match_the_known_roots() -> None:
    log = known_log()
    assert [log.root(size) for size in range(1, 9)] == ROOTS
    assert MemoryLog().root() == empty_root() == hashlib.sha256(b"").digest()


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_proofs_match_the_known_vectors(index: int, size: int, proof: list[str]) -> None:
    expected = [bytes.fromhex(H[p]) for p in proof]
    assert known_log().inclusion_proof(index, size) == expected
    assert verify_inclusion(leaf_hash(LEAVES[index]), index, size, expected, ROOTS[size - 1])
    for wrong_index in (index + 1, index ^ 2):
        assert not verify_inclusion(
            leaf_hash(LEAVES[index]), wrong_index, size, expected, ROOTS[size - 1]
        )
    assert not verify_inclusion(leaf_hash(b"WrongLeaf"), index, size, expected, ROOTS[size - 1])
    assert not verify_inclusion(
        leaf_hash(LEAVES[index]), index, size * 2, expected, ROOTS[size - 1]
    )


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY)
def test_consistency_proofs_match_the_known_vectors(
    first: int, second: int, proof: list[str]
) -> None:
    expected = [bytes.fromhex(H[p]) for p in proof]
    assert known_log().consistency_proof(first, second) == expected
    root1, root2 = ROOTS[first - 1], ROOTS[second - 1]
    assert verify_consistency(first, second, root1, root2, expected)
    assert not verify_consistency(first, second, root2, root1, expected)
    assert not verify_consistency(first, second, root1, root2, expected[:-1])
    assert not verify_consistency(first, second, root1, root2, [*expected, root1])
    flipped = [bytes([expected[0][0] ^ 16]) + expected[0][1:], *expected[1:]]
    assert not verify_consistency(first, second, root1, root2, flipped)


def test_trivial_and_impossible_consistency() -> None:
    root = ROOTS[0]
    assert verify_consistency(0, 5, empty_root(), ROOTS[4], [])
    assert verify_consistency(3, 3, ROOTS[2], ROOTS[2], [])
    assert not verify_consistency(3, 3, ROOTS[2], ROOTS[3], [])
    assert not verify_consistency(2, 1, root, root, [])
    with pytest.raises(ProofError):
        known_log().consistency_proof(5, 3)
    with pytest.raises(ProofError):
        known_log().inclusion_proof(8, 8)


leaves_strategy = st.lists(st.binary(max_size=12), min_size=1, max_size=70)


@settings(max_examples=60, deadline=None)
@given(leaves_strategy, st.data())
def test_every_proof_of_every_prefix_verifies(leaves: list[bytes], data: st.DataObject) -> None:
    log = MemoryLog()
    for leaf in leaves:
        log.append(leaf)
    size = data.draw(st.integers(1, len(leaves)))
    first = data.draw(st.integers(0, size))
    root = log.root(size)
    for index in range(size):
        proof = log.inclusion_proof(index, size)
        assert verify_inclusion(leaf_hash(leaves[index]), index, size, proof, root)
    assert verify_consistency(
        first, size, log.root(first), root, log.consistency_proof(first, size)
    )


def rebuilt(leaves: list[bytes]) -> MemoryLog:
    log = MemoryLog()
    for leaf in leaves:
        log.append(leaf)
    return log


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.binary(min_size=1, max_size=8), min_size=2, max_size=40, unique=True),
    st.sampled_from(["delete", "edit", "reorder"]),
    st.data(),
)
def test_rewriting_any_past_leaf_is_detected(
    leaves: list[bytes], tamper: str, data: st.DataObject
) -> None:
    """A fan saved the checkpoint at size m and her leaf's index: a rewritten past shows."""
    m = data.draw(st.integers(2, len(leaves)), label="published size")
    honest = rebuilt(leaves[:m])
    published_root = honest.root()
    i = data.draw(st.integers(0, m - 1), label="tampered leaf")
    history = list(leaves[:m])
    if tamper == "delete":
        del history[i]
    elif tamper == "edit":
        history[i] = history[i] + b"!"
    else:
        j = data.draw(st.integers(0, m - 1).filter(lambda j: j != i), label="swapped with")
        history[i], history[j] = history[j], history[i]
    later = data.draw(st.lists(st.binary(min_size=9, max_size=9), max_size=10), label="appended")
    forged = rebuilt(history + later)
    n = forged.size
    # Consistency: the forged log cannot prove it extends the published one.
    if m <= n:
        proof = forged.consistency_proof(m, n)
        assert not verify_consistency(m, n, published_root, forged.root(), proof)
    # Inclusion: the fan's own leaf is no longer provably at its index under the forged root.
    if i < n:
        proof = forged.inclusion_proof(i, n)
        assert not verify_inclusion(leaf_hash(leaves[i]), i, n, proof, forged.root())


# --- leaves -------------------------------------------------------------------------------


def test_a_draw_record_is_canonical_json() -> None:
    record = draw_record(
        draw_id="d1",
        gacha_id="g1",
        odds_version=2,
        server_seed_hash="ab" * 32,
        client_seed="ファン",
        slots=[{"nonce": 7, "table": "main", "item_id": "voice-n1", "rarity": "N"}],
        drawn_at=datetime(2026, 12, 1, 3, 4, 5, tzinfo=UTC),
    )
    text = canonical_json(record)
    assert text.startswith(
        '{"client_seed":"ファン","draw_id":"d1","drawn_at":"2026-12-01T03:04:05Z"'
    )
    assert " " not in text and leaf_bytes(record) == text.encode("utf-8")
    with pytest.raises(ValueError):
        canonical_json({"rate": 0.5})


# --- signed notes and checkpoints ---------------------------------------------------------

PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_NOTE = PETER_TEXT + (
    "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXg"
    "KvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_signing_matches_the_go_sumdb_note_vector() -> None:
    signer = parse_signer_key(PETER_SKEY)
    assert str(signer) == PETER_SKEY
    assert str(signer.verifier) == PETER_VKEY
    assert sign(PETER_TEXT, signer) == PETER_NOTE
    opened = open_note(PETER_NOTE, [parse_verifier_key(PETER_VKEY)])
    assert opened.text == PETER_TEXT and opened.verified_by == ("PeterNeumann",)


def test_the_key_id_is_the_spec_hash_of_name_and_key() -> None:
    verifier = parse_verifier_key(PETER_VKEY)
    raw = base64.b64decode(PETER_VKEY.split("+", 2)[2])
    assert raw[0] == 0x01 and verifier.public_key == raw[1:]
    expected = hashlib.sha256(b"PeterNeumann\n\x01" + raw[1:]).digest()[:4]
    assert key_id("PeterNeumann", raw[1:]) == expected == bytes.fromhex("c74f20a3")


@pytest.mark.parametrize(
    "bad",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeuman+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3",
    ],
)
def test_mangled_verifier_keys_are_refused(bad: str) -> None:
    with pytest.raises(NoteError):
        parse_verifier_key(bad)


def test_a_note_altered_or_signed_by_another_key_does_not_open() -> None:
    peter = parse_verifier_key(PETER_VKEY)
    with pytest.raises(NoteError):
        open_note(PETER_NOTE.replace("cryptography", "cryptographY"), [peter])
    with pytest.raises(NoteError):
        open_note(PETER_NOTE, [new_signer_key("PeterNeumann").verifier])
    with pytest.raises(NoteError):
        open_note(PETER_TEXT, [peter])


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**40), st.binary(min_size=32, max_size=32))
def test_a_published_checkpoint_verifies_as_a_c2sp_signed_note(size: int, root: bytes) -> None:
    signer = new_signer_key("koepon.jp/draw-log")
    checkpoint = Checkpoint("koepon.jp/draw-log", size, root)
    note = sign_checkpoint(checkpoint, signer)
    origin, size_line, root_line, blank, signature, end = note.split("\n")
    assert (origin, size_line, root_line, blank, end) == (
        "koepon.jp/draw-log", str(size), base64.b64encode(root).decode(), "", ""
    )  # fmt: skip
    assert signature.startswith("— koepon.jp/draw-log ")
    vkey = parse_verifier_key(str(signer.verifier))
    assert open_checkpoint(note, [vkey], origin="koepon.jp/draw-log") == checkpoint
    with pytest.raises(NoteError):
        open_checkpoint(note, [vkey], origin="evil.example/log")
    forged = note.replace(f"\n{size}\n", f"\n{size + 1}\n", 1)
    with pytest.raises(NoteError):
        open_checkpoint(forged, [vkey], origin="koepon.jp/draw-log")


def test_malformed_checkpoint_bodies_are_refused() -> None:
    root = base64.b64encode(bytes(32)).decode()
    assert parse_body(f"o\n0\n{root}\next\n").extensions == ("ext",)
    for body in (
        f"o\n01\n{root}\n",
        f"o\n-1\n{root}\n",
        "o\n1\nAAAA\n",
        f"\n1\n{root}\n",
        "o\n1\n",
    ):
        with pytest.raises(NoteError):
            parse_body(body)


@settings(deadline=None)
@given(st.integers(1, 300))
def test_the_log_stores_one_hash_per_complete_subtree(n: int) -> None:
    log = rebuilt([i.to_bytes(2, "big") for i in range(n)])
    # n leaves make 2n − popcount(n) complete subtrees (each merge of equal halves adds one).
    assert log.stored_hashes == 2 * n - bin(n).count("1")
