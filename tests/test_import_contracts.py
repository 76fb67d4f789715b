"""The service boundaries hold: no service imports another, the kernel imports no service, and
inside payment the sub-domains and their modules import downwards only (pyproject.toml)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint(
    config: Path | None = None, *, path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if path is not None:
        env["PYTHONPATH"] = str(path)
    args = [str(LINT_IMPORTS), "--no-cache"] + (["--config", str(config)] if config else [])
    cwd = path or ROOT
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_import_contracts_are_kept() -> None:
    result = lint()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout.lower()


def platform(tmp_path: Path, modules: dict[str, str]) -> Path:
    """A throw-away package ``plat`` with the given modules (dotted name → source)."""
    for name, source in {"plat": "", **modules}.items():
        parts = name.split(".")
        folder = tmp_path.joinpath(*parts)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "__init__.py").write_text(source)
    return tmp_path


INDEPENDENCE = (
    "[importlinter]\nroot_package = plat\n\n"
    "[importlinter:contract:services]\nname = Services do not import each other\n"
    "type = independence\nmodules =\n    plat.auth\n    plat.payment\n"
)
LAYERS = (
    "[importlinter]\nroot_package = plat\n\n"
    "[importlinter:contract:layers]\nname = Sub-domains import downwards only\n"
    "type = layers\nlayers =\n    plat.payment.checkout\n    plat.payment.wallet\n"
    "    plat.payment.ledger\n"
)


def test_a_service_importing_another_breaks_the_contract(tmp_path: Path) -> None:
    root = platform(
        tmp_path, {"plat.auth": "", "plat.payment": "from plat import auth  # a service import\n"}
    )
    (root / "contracts.ini").write_text(INDEPENDENCE)
    result = lint(root / "contracts.ini", path=root)
    assert result.returncode != 0
    assert "plat.payment is not allowed to import plat.auth" in result.stdout


def test_services_that_keep_to_themselves_keep_the_contract(tmp_path: Path) -> None:
    root = platform(tmp_path, {"plat.auth": "", "plat.payment": ""})
    (root / "contracts.ini").write_text(INDEPENDENCE)
    result = lint(root / "contracts.ini", path=root)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_lower_sub_domain_importing_a_higher_one_breaks_the_layers(tmp_path: Path) -> None:
    root = platform(
        tmp_path,
        {
            "plat.payment": "",
            "plat.payment.checkout": "from plat.payment import wallet\n",
            "plat.payment.wallet": "from plat.payment import checkout  # upwards\n",
            "plat.payment.ledger": "",
        },
    )
    (root / "contracts.ini").write_text(LAYERS)
    result = lint(root / "contracts.ini", path=root)
    assert result.returncode != 0
    assert "plat.payment.wallet is not allowed to import plat.payment.checkout" in result.stdout
