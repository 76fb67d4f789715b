"""Loading and checking Koepon's deployment files: Kubernetes manifests (kubernetes-validate for
the built-in kinds, structural checks for the operators' custom resources) and the CLI arguments
every container is started with."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import click
import kubernetes_validate

from koepon import cli

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
# The oldest Kubernetes minor the manifests are written for (autoscaling/v2, policy/v1,
# sidecar-free); kubernetes-validate ships its schemas offline.
KUBERNETES_VERSION = "1.33.0"

# Custom resources kubernetes-validate has no schema for: apiVersion → kind → fields each object
# must have (dotted paths), checked structurally instead.
CUSTOM_KINDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("external-secrets.io/v1", "ExternalSecret"): (
        "spec.secretStoreRef.name",
        "spec.secretStoreRef.kind",
        "spec.target.name",
        "spec.refreshInterval",
    ),
    ("external-secrets.io/v1", "ClusterSecretStore"): (
        "spec.provider.vault.server",
        "spec.provider.vault.path",
        "spec.provider.vault.auth.kubernetes.role",
    ),
    ("cert-manager.io/v1", "ClusterIssuer"): (
        "spec.acme.server",
        "spec.acme.email",
        "spec.acme.privateKeySecretRef.name",
        "spec.acme.solvers",
    ),
    ("argoproj.io/v1alpha1", "Application"): (
        "spec.project",
        "spec.source.repoURL",
        "spec.source.path",
        "spec.source.targetRevision",
        "spec.destination.server",
    ),
    ("argoproj.io/v1alpha1", "AppProject"): ("spec.sourceRepos", "spec.destinations"),
}


def field(document: dict[str, Any], dotted: str) -> Any:
    value: Any = document
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def validate(document: dict[str, Any]) -> None:
    """Raises when ``document`` is not a valid object of its kind (AssertionError for custom
    resources, kubernetes_validate.ValidationError for built-in kinds)."""
    key = (document.get("apiVersion", ""), document.get("kind", ""))
    if key in CUSTOM_KINDS:
        name = field(document, "metadata.name")
        assert isinstance(name, str) and name, f"{key}: no metadata.name"
        missing = [path for path in CUSTOM_KINDS[key] if field(document, path) in (None, "", [])]
        assert not missing, f"{key[1]} {name}: missing {missing}"
        return
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def pod_spec(document: dict[str, Any]) -> dict[str, Any] | None:
    spec = field(document, "spec.template.spec")
    return spec if isinstance(spec, dict) else None


def check_cli_arguments(arguments: list[str]) -> None:
    """Parses ``koepon <arguments>`` with the real command line (nothing runs): the command and
    its options exist and the service names are valid choices."""
    group = cli.main
    name, *rest = arguments
    command = group.commands.get(name)
    assert command is not None, f"no `koepon {name}` command"
    try:
        command.make_context(f"koepon {name}", list(rest), resilient_parsing=False)
    except click.ClickException as exc:
        raise AssertionError(f"`koepon {shlex.join(arguments)}`: {exc.format_message()}") from exc
