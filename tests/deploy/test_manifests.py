"""The Kubernetes manifests (deploy/k8s, deploy/argocd): every object validates for the pinned
Kubernetes version, each overlay renders and validates, every service is deployed the same way,
and secrets only ever come from the external secret store."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from deploy.kustomize import load_documents, render
from deploy.manifests import K8S, ROOT, check_cli_arguments, field, pod_spec, validate
from koepon.kernel.settings import SERVICES

OVERLAYS = ("staging", "production")
SERVING = (*SERVICES, "gateway")
MANIFEST_FILES = sorted(
    [*K8S.rglob("*.yaml"), *(ROOT / "deploy" / "argocd").glob("*.yaml")],
    key=str,
)


def _objects(rendered: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in rendered if doc["kind"] == kind}


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    overlays = {name: render(K8S / "overlays" / name) for name in OVERLAYS}
    return overlays | {"base": render(K8S / "base"), "cluster": render(K8S / "cluster")}


@pytest.mark.parametrize("path", MANIFEST_FILES, ids=lambda p: str(Path(p).relative_to(K8S.parent)))
def test_every_manifest_file_validates(path: Path) -> None:
    if path.name == "kustomization.yaml":
        assert load_documents(path)[0]["kind"] == "Kustomization"
        return
    if path.parent.name == "patches":
        return  # partial objects; validated once merged, in the rendered overlays
    for document in load_documents(path):
        validate(document)


@pytest.mark.parametrize("overlay", [*OVERLAYS, "base", "cluster"])
def test_each_overlay_renders_valid_objects(
    rendered: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    for document in rendered[overlay]:
        validate(document)


def test_overlays_size_and_place_the_platform(rendered: dict[str, list[dict[str, Any]]]) -> None:
    staging, production = rendered["staging"], rendered["production"]
    for name, docs, namespace in (
        ("staging", staging, "koepon-staging"),
        ("production", production, "koepon"),
    ):
        assert {doc["metadata"].get("namespace") for doc in docs if doc["kind"] != "Namespace"} == {
            namespace
        }, name
        assert _objects(docs, "Namespace").keys() == {namespace}
        tag = "staging" if name == "staging" else "0.1.0"
        for doc in docs:
            for container in (pod_spec(doc) or {}).get("containers", []):
                assert container["image"] == f"ghcr.io/koepon/koepon:{tag}", doc["metadata"]["name"]
    assert {d["spec"]["replicas"] for d in _objects(staging, "Deployment").values()} == {1}
    assert min(d["spec"]["replicas"] for d in _objects(production, "Deployment").values()) >= 3
    assert {
        h["spec"]["minReplicas"] for h in _objects(staging, "HorizontalPodAutoscaler").values()
    } == {1}
    production_hpas = _objects(production, "HorizontalPodAutoscaler")
    assert min(h["spec"]["minReplicas"] for h in production_hpas.values()) >= 3
    assert (
        production_hpas["gacha-worker"]["spec"]["maxReplicas"]
        > production_hpas["gacha"]["spec"]["maxReplicas"]
    )
    # Production's budgets keep two pods serving; staging's single pods may be drained.
    for pdb in _objects(production, "PodDisruptionBudget").values():
        assert pdb["spec"] == {"minAvailable": 2, "selector": pdb["spec"]["selector"]}
    for pdb in _objects(staging, "PodDisruptionBudget").values():
        assert pdb["spec"]["maxUnavailable"] == 1
    hosts = {
        name: _objects(rendered[name], "Ingress")["koepon"]["spec"]["rules"][0]["host"]
        for name in OVERLAYS
    }
    assert hosts == {"staging": "staging.koepon.example", "production": "koepon.example"}
    keys = {
        name: _objects(rendered[name], "ExternalSecret")["koepon-secrets"]["spec"]["dataFrom"][0][
            "extract"
        ]["key"]
        for name in OVERLAYS
    }
    assert keys == {"staging": "koepon/staging", "production": "koepon/production"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_is_deployed_probed_budgeted_and_autoscaled(
    rendered: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    docs = rendered[overlay]
    deployments, services = _objects(docs, "Deployment"), _objects(docs, "Service")
    budgets, autoscalers = (
        _objects(docs, "PodDisruptionBudget"),
        _objects(docs, "HorizontalPodAutoscaler"),
    )
    for name in SERVING:
        deployment = deployments[name]
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["args"][:3] == ["serve", "--service", name]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        service = services[name]
        assert service["spec"]["selector"].items() <= labels.items()
        assert service["spec"]["ports"][0]["targetPort"] == container["ports"][0]["name"]
        assert budgets[name]["spec"]["selector"]["matchLabels"].items() <= labels.items()
        autoscaler = autoscalers[name]["spec"]
        assert autoscaler["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        assert any(
            m["type"] == "Resource" and m["resource"]["name"] == "cpu"
            for m in autoscaler["metrics"]
        )
    for name in SERVICES:
        worker = deployments[f"{name}-worker"]["spec"]["template"]["spec"]["containers"][0]
        assert worker["args"] == ["worker", "--service", name]
    # The draw workers scale on the depth of their RabbitMQ queue (prometheus-adapter).
    external = [
        m for m in autoscalers["gacha-worker"]["spec"]["metrics"] if m["type"] == "External"
    ]
    assert external[0]["external"]["metric"]["name"] == "rabbitmq_queue_messages_ready"
    assert autoscalers["gacha-worker"]["spec"]["scaleTargetRef"]["name"] == "gacha-worker"
    # The public entry goes to the gateway, with a certificate from cert-manager.
    ingress = _objects(docs, "Ingress")["koepon"]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert (
        ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
    )
    assert (
        ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == "gateway"
    )
    assert ingress["spec"]["tls"][0]["hosts"] == [ingress["spec"]["rules"][0]["host"]]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_run_unprivileged_with_bounded_resources(
    rendered: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    for doc in rendered[overlay]:
        spec = pod_spec(doc)
        if spec is None:
            continue
        name = doc["metadata"]["name"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            assert {"cpu", "memory"} <= container["resources"]["requests"].keys(), name
            assert {"cpu", "memory"} <= container["resources"]["limits"].keys(), name
            check_cli_arguments(container["args"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_only_come_from_the_external_store(
    rendered: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    docs = rendered[overlay]
    assert not _objects(docs, "Secret"), "a Secret is written by External Secrets, never committed"
    targets = {doc["spec"]["target"]["name"] for doc in _objects(docs, "ExternalSecret").values()}
    stores = {
        doc["metadata"]["name"]
        for doc in rendered["cluster"]
        if doc["kind"] == "ClusterSecretStore"
    }
    for external in _objects(docs, "ExternalSecret").values():
        assert external["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "vault"}
        assert "vault" in stores
    referenced: Counter[str] = Counter()
    for doc in docs:
        for container in (pod_spec(doc) or {}).get("containers", []):
            assert "env" not in container, "settings come from the ConfigMap and the secret"
            for source in container.get("envFrom", []):
                if "secretRef" in source:
                    referenced[source["secretRef"]["name"]] += 1
    assert referenced and set(referenced) <= targets
    config = _objects(docs, "ConfigMap")["koepon-config"]["data"]
    assert not {
        key for key in config if any(w in key for w in ("SECRET", "TOKEN", "PASSWORD", "_KEY"))
    }
    assert field(_objects(docs, "Job")["koepon-migrate"], "spec.template.spec.containers")[0][
        "args"
    ] == ["migrate"]


@pytest.mark.parametrize("overlay", ["base", "production"])
def test_every_service_and_the_draw_workers_keep_two_replicas(
    rendered: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    """A pod killed is never the only one: every service, the gateway and the draw workers run
    at least two pods (replicas and the autoscaler's floor), and a disruption budget never
    lets a drain take the last but one (tests/deploy/test_replica_failover.py kills one of
    two)."""
    docs = rendered[overlay]
    deployments = _objects(docs, "Deployment")
    autoscalers = _objects(docs, "HorizontalPodAutoscaler")
    budgets = _objects(docs, "PodDisruptionBudget")
    for name in (*SERVING, "gacha-worker"):
        assert deployments[name]["spec"]["replicas"] >= 2, (overlay, name)
        assert autoscalers[name]["spec"]["minReplicas"] >= 2, (overlay, name)
        budget = budgets[name]["spec"]
        if "maxUnavailable" in budget:
            assert budget["maxUnavailable"] == 1, (overlay, name)
        else:
            assert budget["minAvailable"] < deployments[name]["spec"]["replicas"], (overlay, name)


def test_argocd_applications_point_at_the_overlays() -> None:
    applications = {
        doc["metadata"]["name"]: doc
        for path in (ROOT / "deploy" / "argocd").glob("*.yaml")
        for doc in load_documents(path)
        if doc["kind"] == "Application"
    }
    paths = {app["spec"]["source"]["path"] for app in applications.values()}
    assert paths == {
        "deploy/k8s/overlays/staging",
        "deploy/k8s/overlays/production",
        "deploy/k8s/cluster",
    }
    for path in paths:
        assert (ROOT / path / "kustomization.yaml").is_file()
    assert "automated" not in applications["koepon-production"]["spec"]["syncPolicy"]
