"""The draw log's parts without a platform: its signing key, the monitor's check, the frontier
the sequencer preloads, and the background loop surviving failing rounds."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from koepon.gacha.settings import GachaSettings
from koepon.gacha.transparency.merkle import MemoryLog, new_nodes
from koepon.gacha.transparency.monitor import audit_entries, entries_root
from koepon.gacha.transparency.note import new_signer_key
from koepon.gacha.transparency.service import frontier
from koepon.gacha.transparency.signer import load_signer
from koepon.gacha.transparency.tasks import LogPublisher
from koepon.kernel.settings import Settings

ORIGIN = "koepon.jp/draw-log"

# --- the signing key --------------------------------------------------------------------------


def test_production_without_a_draw_log_key_refuses_to_start(tmp_path: Path) -> None:
    settings = Settings(environment="production", data_dir=tmp_path)
    with pytest.raises(RuntimeError, match="KOEPON_DRAW_LOG_SIGNING_KEY is required"):
        load_signer(settings, GachaSettings())
    assert not (tmp_path / "keys").exists()  # no key made up in production


def test_the_configured_key_signs_and_must_be_named_after_the_origin(tmp_path: Path) -> None:
    settings = Settings(environment="production", data_dir=tmp_path)
    key = new_signer_key(ORIGIN)
    loaded = load_signer(settings, GachaSettings(draw_log_signing_key=str(key)))  # type: ignore[arg-type]
    assert loaded.verifier == key.verifier
    other = new_signer_key("example.org/log")
    with pytest.raises(RuntimeError, match="KOEPON_DRAW_LOG_ORIGIN"):
        load_signer(settings, GachaSettings(draw_log_signing_key=str(other)))  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="KOEPON_DRAW_LOG_SIGNING_KEY is not"):
        load_signer(settings, GachaSettings(draw_log_signing_key="PRIVATE+KEY+nope"))  # type: ignore[arg-type]


def test_outside_production_a_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    settings = Settings(environment="development", data_dir=tmp_path)
    first = load_signer(settings, GachaSettings())
    again = load_signer(settings, GachaSettings())
    assert first.verifier == again.verifier and first.name == ORIGIN
    (kept,) = (tmp_path / "keys").iterdir()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    # Another origin gets its own key, named after it.
    other = load_signer(settings, GachaSettings(draw_log_origin="example.org/log"))
    assert other.name == "example.org/log" and other.verifier != first.verifier


# --- the monitor ------------------------------------------------------------------------------


def records(count: int) -> list[str]:
    return [
        json.dumps({"draw_id": f"d{i}", "slots": [i]}, sort_keys=True, separators=(",", ":"))
        for i in range(count)
    ]


def test_the_monitor_accepts_the_honest_log_and_names_each_kind_of_tampering() -> None:
    leaves = records(6)
    size, root = entries_root(leaves)
    honest = list(enumerate(leaves))
    assert audit_entries(size, root, honest) == []

    edited = list(honest)
    edited[2] = (2, leaves[2].replace('"d2"', '"dX"'))
    assert any("does not match" in p for p in audit_entries(size, root, edited))
    gap = honest[:3] + honest[4:]
    assert any("missing indexes [3]" in p for p in audit_entries(size, root, gap))
    swapped = [honest[0], (1, leaves[2]), (2, leaves[1]), *honest[3:]]
    assert any("does not match" in p for p in audit_entries(size, root, swapped))
    twice = [*honest[:5], (5, leaves[0])]
    assert any("logs draw d0 again" in p for p in audit_entries(size, root, twice))
    spaced = [*honest[:5], (5, leaves[5].replace(",", ", "))]
    assert any("not a canonical JSON" in p for p in audit_entries(size, root, spaced))


# --- the frontier the sequencer preloads ------------------------------------------------------


@given(st.integers(min_value=0, max_value=300), st.integers(min_value=1, max_value=40))
def test_appending_after_any_size_reads_only_the_frontier_and_hashes_made_meanwhile(
    start: int, count: int
) -> None:
    reference = MemoryLog()
    for i in range(start):
        reference.append(b"%d" % i)
    known = {key: reference.lookup(*key) for key in frontier(start)}
    for i in range(start, start + count):
        for level, index, digest in new_nodes(i, b"%d" % i, lambda lv, ix: known[(lv, ix)]):
            known[(level, index)] = digest
        reference.append(b"%d" % i)
    assert all(known[key] == reference.lookup(*key) for key in frontier(start + count))


# --- the background loop ----------------------------------------------------------------------


class FlakyLog:
    """A log whose database fails now and then."""

    def __init__(self) -> None:
        self.ctx = SimpleNamespace(
            gacha_settings=GachaSettings(
                draw_log_sequence_seconds=0.01, draw_log_checkpoint_seconds=0.01
            )
        )
        self.submitted = asyncio.Event()
        self.sequenced = 0
        self.published = 0

    async def sequence(self) -> int:
        self.sequenced += 1
        if self.sequenced in (1, 2, 4):
            raise ConnectionError("database unreachable")
        return 0

    async def publish_checkpoint(self) -> str | None:
        self.published += 1
        if self.published == 1:
            raise ConnectionError("database unreachable")
        return None


async def test_a_failing_round_is_logged_and_the_loop_carries_on() -> None:
    log: Any = FlakyLog()
    publisher = LogPublisher(log)
    job = asyncio.create_task(publisher.run_forever())
    try:
        async with asyncio.timeout(5):
            while log.sequenced < 6 or log.published < 3:  # noqa: ASYNC110 - counters
                await asyncio.sleep(0.01)
        assert not job.done()
    finally:
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
