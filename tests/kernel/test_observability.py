"""Logs: readable lines on a terminal, JSON elsewhere, secrets redacted either way."""

import io
import json
from collections.abc import Iterator

import pytest
import structlog

from koepon.kernel.observability import configure_logging
from koepon.kernel.settings import Settings


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def log_one_line(stream: io.StringIO, log_format: str = "auto") -> str:
    configure_logging("INFO", log_format, stream=stream)  # type: ignore[arg-type]
    structlog.get_logger("probe").info("wallet.read", user_id="u-1", password="hunter2")
    return stream.getvalue()


def test_a_terminal_gets_readable_lines_not_json() -> None:
    line = log_one_line(Terminal())
    assert "wallet.read" in line
    assert "user_id" in line and "u-1" in line
    assert "hunter2" not in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_a_pipe_or_file_gets_one_json_object_a_line() -> None:
    event = json.loads(log_one_line(io.StringIO()))
    assert event["event"] == "wallet.read"
    assert event["user_id"] == "u-1"
    assert event["password"] == "[redacted]"
    assert event["level"] == "info"
    assert event["timestamp"].endswith("Z")


def test_the_setting_forces_either_format() -> None:
    assert json.loads(log_one_line(Terminal(), "json"))["event"] == "wallet.read"
    forced = log_one_line(io.StringIO(), "console")
    assert "wallet.read" in forced and not forced.lstrip().startswith("{")
    assert "\x1b[" not in forced  # no colour codes when it is not a terminal


def test_log_format_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOEPON_LOG_FORMAT", "json")
    assert Settings().log_format == "json"
    assert Settings.model_fields["log_format"].default == "auto"
