"""Settings: log levels in any case, and a bad setting stops start-up with one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from koepon.auth import settings as auth_settings
from koepon.cli import check_settings
from koepon.kernel.settings import Settings, SettingsError, load_settings
from koepon.payment import settings as payment_settings

KOEPON = Path(sys.executable).with_name("koepon")


@pytest.mark.parametrize("given", ["warning", "WARNING", " Warning ", "warn"])
def test_a_log_level_is_accepted_in_any_case(given: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOEPON_LOG_LEVEL", given)
    assert load_settings().log_level == "WARNING"


def test_an_unknown_log_level_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOEPON_LOG_LEVEL", "loud")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    message = str(refused.value)
    assert "KOEPON_LOG_LEVEL" in message and "\n" not in message


def test_every_bad_variable_is_named_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # The platform's settings and each service's own are checked together at start-up.
    monkeypatch.setenv("KOEPON_LOG_LEVEL", "loud")
    monkeypatch.setenv("KOEPON_PAID_MEDAL_VALIDITY_DAYS", "half a year")
    monkeypatch.setenv("KOEPON_LOGIN_WINDOW_SECONDS", "a while")
    with pytest.raises(SettingsError) as refused:
        check_settings()
    message = str(refused.value)
    assert "\n" not in message
    for name in (
        "KOEPON_LOG_LEVEL",
        "KOEPON_PAID_MEDAL_VALIDITY_DAYS",
        "KOEPON_LOGIN_WINDOW_SECONDS",
    ):
        assert name in message


def test_a_bad_service_setting_alone_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOEPON_MONTHLY_CAP_UNDER_16_JPY", "five thousand")
    with pytest.raises(SettingsError, match="KOEPON_MONTHLY_CAP_UNDER_16_JPY"):
        check_settings()


def test_a_service_reads_its_own_variables_and_the_platform_can_override_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KOEPON_PAID_MEDAL_VALIDITY_DAYS", "120")
    monkeypatch.setenv("KOEPON_REFRESH_TOKEN_DAYS", "7")
    settings = load_settings()
    assert payment_settings.load(settings).paid_medal_validity_days == 120
    assert auth_settings.load(settings).refresh_token_days == 7
    given = settings.with_service_settings("payment", paid_medal_validity_days=90)
    assert payment_settings.load(given).paid_medal_validity_days == 90
    assert payment_settings.load(settings).paid_medal_validity_days == 120  # copy, not changed
    assert not hasattr(settings, "paid_medal_validity_days")  # not a platform setting


def test_the_command_lists_every_services_variables(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(KOEPON), "settings"],
        env={"KOEPON_DATA_DIR": str(tmp_path), "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for name in (
        "KOEPON_LOG_LEVEL",
        "KOEPON_PAID_MEDAL_VALIDITY_DAYS",
        "KOEPON_REFRESH_TOKEN_DAYS",
    ):
        assert name in result.stdout


def test_settings_built_in_code_normalise_the_level_too() -> None:
    assert Settings(log_level="error").log_level == "ERROR"  # type: ignore[arg-type]


def test_the_command_stops_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(KOEPON), "settings"],
        env={"KOEPON_LOG_LEVEL": "loud", "KOEPON_DATA_DIR": str(tmp_path), "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "KOEPON_LOG_LEVEL" in lines[0]


def test_the_command_starts_with_a_lower_case_level(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(KOEPON), "settings"],
        env={"KOEPON_LOG_LEVEL": "warning", "KOEPON_DATA_DIR": str(tmp_path), "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "KOEPON_LOG_LEVEL" in result.stdout
