"""The standalone verifier agrees with the engine and catches every kind of lie."""

from __future__ import annotations

import ast
import json
import random
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from gacha import samples
from koepon.gacha.draws.outcomes import DrawOutcome, draw, full_box
from koepon.gacha.fairness import verifier
from koepon.gacha.fairness.bundle import HistoryProof, LogProof, verification_bundle
from koepon.gacha.fairness.rng import draw_slot
from koepon.gacha.fairness.seeds import commitment
from koepon.gacha.odds.model import GachaConfig
from koepon.gacha.odds.slots import PityState, published_tables
from koepon.gacha.transparency.checkpoint import Checkpoint, sign_checkpoint
from koepon.gacha.transparency.leaf import canonical_json, draw_record
from koepon.gacha.transparency.merkle import MemoryLog
from koepon.gacha.transparency.note import SignerKey, new_signer_key

VERIFIER = Path(verifier.__file__)
ORIGIN = "koepon.jp/draw-log"
RARITIES = ["N", "R", "SR", "SSR", "UR"]


def test_the_verifier_imports_only_the_standard_library() -> None:
    tree = ast.parse(VERIFIER.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0
            imported.add((node.module or "").split(".")[0])
    assert imported and imported <= set(sys.stdlib_module_names)


# --- Ed25519 without libraries ------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.binary(max_size=200), st.integers(0, 63))
def test_the_plain_ed25519_check_agrees_with_cryptography(
    seed: bytes, message: bytes, flip: int
) -> None:
    key = Ed25519PrivateKey.from_private_bytes(seed)
    public = key.public_key().public_bytes_raw()
    signature = key.sign(message)
    assert verifier.ed25519_ok(public, message, signature)
    bad = bytearray(signature)
    bad[flip] ^= 1
    assert not verifier.ed25519_ok(public, message, bytes(bad))
    assert not verifier.ed25519_ok(public, message + b"x", signature)


# --- agreement on 1,000 random draws ------------------------------------------------------


def random_config(rng: random.Random) -> GachaConfig:
    kind = rng.choice(["weighted", "box"])
    n = rng.randint(1, 12)
    items = [
        {"item_id": f"i{k}", "content_id": f"c{k}", "rarity": rng.choice(RARITIES)}
        for k in range(n)
    ]
    raw: dict[str, Any] = {
        "kind": kind, "price_medals": 100, "price_jpy": 100,
        "period": {"starts_at": "2026-12-01T00:00:00+00:00"}, "items": items,
    }  # fmt: skip
    if kind == "box":
        raw["box"] = [{"item_id": f"i{k}", "count": rng.randint(1, 15)} for k in range(n)]
    else:
        # Totals up to 2^32, including ones just above 2^31 where half of all values are rejected.
        top = rng.choice([2**8, 2**20, 2**31 // n + 1, 2**32 // n])
        raw["main"] = [{"item_id": f"i{k}", "weight": rng.randint(1, top)} for k in range(n)]
    return GachaConfig.model_validate(raw)


def bundle_of(
    config: GachaConfig, seed: bytes, client_seed: str, outcome: DrawOutcome
) -> dict[str, Any]:
    return verification_bundle(
        server_seed=seed,
        client_seed=client_seed,
        tables=published_tables(config),
        slots=[slot.as_record() for slot in outcome.slots],
    )


def test_the_verifier_agrees_with_the_engine_on_1000_random_draws() -> None:
    rng = random.Random(20261201)
    slots = 0
    for _ in range(1000):
        config = random_config(rng)
        seed = rng.randbytes(32)
        client_seed = "".join(rng.choice("abcXYZ019-_:~ ") for _ in range(rng.randint(1, 64)))
        nonce = rng.randrange(2**40)
        remaining = None
        count = 1
        if config.kind == "box":
            full = dict(full_box(config))
            remaining = {k: rng.randint(0, v) for k, v in full.items()}
            remaining[config.box[0].item_id] = max(1, remaining[config.box[0].item_id])
            count = min(rng.choice([1, 10]), sum(remaining.values()))
        outcome = draw(
            config, count=count, server_seed=seed, client_seed=client_seed, first_nonce=nonce,
            box_remaining=remaining,
        )  # fmt: skip
        checks = verifier.verify(bundle_of(config, seed, client_seed, outcome))
        assert all(check.ok for check in checks), [c for c in checks if not c.ok]
        assert len(checks) == 1 + count
        slots += count
        if config.kind == "weighted":
            weights = [w.weight for w in config.main]
            assert verifier.choose(weights, seed, client_seed, nonce) == draw_slot(
                seed, client_seed, nonce, weights
            )
    assert slots >= 1000


# --- the whole bundle: seeds, outcomes, leaf, inclusion, consistency ----------------------


def logged_draw(tmp_path: Path) -> tuple[dict[str, Any], SignerKey, MemoryLog]:
    """A 10連 with its log proof, an older saved checkpoint and the history proof from it."""
    config = samples.weighted()
    seed = bytes(range(32))
    outcome = draw(config, count=10, server_seed=seed, client_seed="fan-chosen", first_nonce=40)
    slots = [slot.as_record() for slot in outcome.slots]
    record = draw_record(
        draw_id="draw-1", gacha_id="gacha-1", odds_version=1,
        server_seed_hash=commitment(seed), client_seed="fan-chosen",
        slots=slots, drawn_at=datetime(2026, 12, 1, tzinfo=UTC),
    )  # fmt: skip
    leaf = canonical_json(record)
    log = MemoryLog()
    for k in range(5):
        log.append(f"earlier draw {k}".encode())
    older_size = log.size
    signer = new_signer_key(ORIGIN)
    older = sign_checkpoint(Checkpoint(ORIGIN, older_size, log.root()), signer)
    index = log.append(leaf.encode())
    for k in range(3):
        log.append(f"later draw {k}".encode())
    bundle = verification_bundle(
        server_seed=seed,
        client_seed="fan-chosen",
        tables=published_tables(config),
        slots=slots,
        log=LogProof(
            leaf=leaf,
            leaf_index=index,
            tree_size=log.size,
            proof=log.inclusion_proof(index),
            checkpoint=sign_checkpoint(Checkpoint(ORIGIN, log.size, log.root()), signer),
        ),
        log_key=str(signer.verifier),
        history=HistoryProof(older, log.consistency_proof(older_size)),
    )
    assert set(bundle["tables"]) == {"main", "guaranteed", "pity"}
    return bundle, signer, log


def run(tmp_path: Path, bundle: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "draw.json"
    path.write_text(json.dumps(bundle, ensure_ascii=False))
    return subprocess.run(
        [sys.executable, str(VERIFIER), str(path)], capture_output=True, text=True, timeout=60
    )


def test_a_logged_draw_verifies_from_the_command_line(tmp_path: Path) -> None:
    bundle, _, _ = logged_draw(tmp_path)
    result = run(tmp_path, bundle)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 + 10 + 3 + 1  # seed, slots, leaf/checkpoint/inclusion, consistency
    assert all(line.startswith("ok") for line in lines)


def lie_about_the_outcome(b: dict[str, Any]) -> None:
    b["results"][0]["item_id"] = (
        "signed-ur" if b["results"][0]["item_id"] != "signed-ur" else "voice-n1"
    )


def lie_in_the_log(b: dict[str, Any]) -> None:
    record = json.loads(b["proof"]["leaf"])
    record["slots"][0]["item_id"] = "signed-ur"
    b["proof"]["leaf"] = json.dumps(record, sort_keys=True, separators=(",", ":"))
    b["results"][0]["item_id"] = "signed-ur"


@pytest.mark.parametrize(
    ("lie", "failing"),
    [
        (lambda b: b.update(server_seed="00" * 32), "server seed"),
        (lie_about_the_outcome, "slot nonce 40"),
        (lambda b: b["results"][3].update(nonce=41), "log leaf"),
        (lie_in_the_log, "inclusion"),
        (lambda b: b["proof"].update(leaf_index=b["proof"]["leaf_index"] + 1), "inclusion"),
        (
            lambda b: b["proof"].update(
                checkpoint=b["proof"]["checkpoint"].replace("\n9\n", "\n8\n")
            ),
            "checkpoint",
        ),
        (lambda b: b.update(log_key=str(new_signer_key(ORIGIN).verifier)), "checkpoint"),
        (lambda b: b["consistency"]["proof"].pop(), "consistency"),
    ],
    ids=["seed", "outcome", "nonce", "logged-outcome", "index", "checkpoint", "key", "history"],
)
def test_each_lie_fails_the_check_that_catches_it(tmp_path: Path, lie: Any, failing: str) -> None:
    bundle, _, _ = logged_draw(tmp_path)
    lie(bundle)
    result = run(tmp_path, bundle)
    assert result.returncode == 1
    assert any(line.startswith("FAIL") and failing in line for line in result.stdout.splitlines())


def test_a_rewritten_log_fails_the_consistency_check(tmp_path: Path) -> None:
    bundle, signer, _ = logged_draw(tmp_path)
    forged = MemoryLog()
    for k in range(5):
        forged.append(f"earlier draw {k}".encode() if k != 2 else b"rewritten")
    bundle["consistency"]["checkpoint"] = sign_checkpoint(
        Checkpoint(ORIGIN, forged.size, forged.root()), signer
    )
    result = run(tmp_path, bundle)
    assert result.returncode == 1
    assert "FAIL  consistency" in result.stdout


@settings(max_examples=25, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.integers(0, 2**32), st.integers(190, 199))
def test_step_up_and_ceiling_slots_verify_against_their_own_tables(
    seed: bytes, nonce: int, misses: int
) -> None:
    config = GachaConfig.model_validate(samples.step_up_raw())
    outcome = draw(
        config, count=10, server_seed=seed, client_seed="c", first_nonce=nonce, step=1,
        pity_state=PityState(misses),
    )  # fmt: skip
    tables = {s.table for s in outcome.slots}
    assert "pity" in tables or any(s.rarity.value == "UR" for s in outcome.slots)
    checks = verifier.verify(bundle_of(config, seed, "c", outcome))
    assert len(checks) == 11 and all(check.ok for check in checks)


def test_a_checkpoint_of_another_log_fails(tmp_path: Path) -> None:
    bundle, _, log = logged_draw(tmp_path)
    other = new_signer_key("koepon.jp/draw-log")
    bundle["log_key"] = str(other.verifier)
    bundle["proof"]["checkpoint"] = sign_checkpoint(
        Checkpoint("other.example/log", log.size, log.root()), other
    )
    result = run(tmp_path, bundle)
    assert result.returncode == 1
    assert "FAIL  checkpoint: the checkpoint is for 'other.example/log'" in result.stdout


def test_stock_outside_the_box_is_refused() -> None:
    with pytest.raises(ValueError):
        draw(
            samples.box(), count=1, server_seed=b"k" * 32, client_seed="c", first_nonce=0,
            box_remaining={"voice-a": 1, "stranger": 3},
        )  # fmt: skip
