"""A small kustomize, enough for deploy/k8s: resources (files and directories), a namespace,
image tags and strategic-merge patches (by target kind/name, or by the patch's own kind and name).

The kustomize binary is not available to the tests (nothing is downloaded at test time), so the
overlays are rendered here. Anything in a kustomization this renderer does not implement fails
the render instead of being skipped, so the overlays stay within what is rendered faithfully."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

Resource = dict[str, Any]

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}
# Cluster-scoped kinds keep no namespace.
CLUSTER_KINDS = {"Namespace", "ClusterIssuer", "ClusterSecretStore", "ClusterRole"}
# Lists the Kubernetes API merges item by item, keyed by name (patchMergeKey: name); every other
# list of a strategic-merge patch replaces the original, as kustomize does.
MERGE_BY_NAME = {"containers", "initContainers", "volumes", "env", "volumeMounts"}


class RenderError(Exception):
    pass


def load_documents(path: Path) -> list[Resource]:
    with path.open(encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def merge(original: Any, patch: Any, key: str = "") -> Any:
    """``patch`` merged into ``original`` as a strategic-merge patch (null deletes a key)."""
    if isinstance(original, dict) and isinstance(patch, dict):
        merged = dict(original)
        for name, value in patch.items():
            if value is None:
                merged.pop(name, None)
            elif name in merged:
                merged[name] = merge(merged[name], value, name)
            else:
                merged[name] = copy.deepcopy(value)
        return merged
    if isinstance(original, list) and isinstance(patch, list) and key in MERGE_BY_NAME:
        merged_list = [copy.deepcopy(item) for item in original]
        for item in patch:
            for index, existing in enumerate(merged_list):
                if existing.get("name") == item.get("name"):
                    merged_list[index] = merge(existing, item)
                    break
            else:
                merged_list.append(copy.deepcopy(item))
        return merged_list
    return copy.deepcopy(patch)


def _selected(resource: Resource, target: dict[str, str]) -> bool:
    unknown = set(target) - {"kind", "name"}
    if unknown:
        raise RenderError(f"patch target fields not rendered here: {sorted(unknown)}")
    if "kind" in target and resource["kind"] != target["kind"]:
        return False
    return (
        "name" not in target
        or re.fullmatch(target["name"], resource["metadata"]["name"]) is not None
    )


def _pod_specs(resource: Resource) -> list[dict[str, Any]]:
    template = resource.get("spec", {}).get("template", {})
    return [template["spec"]] if "spec" in template else []


def _set_images(resources: list[Resource], images: list[dict[str, str]]) -> None:
    for rule in images:
        for resource in resources:
            for pod in _pod_specs(resource):
                for container in pod.get("containers", []) + pod.get("initContainers", []):
                    name, _, _tag = container["image"].partition(":")
                    if name == rule["name"]:
                        new_name = rule.get("newName", name)
                        container["image"] = f"{new_name}:{rule.get('newTag', _tag or 'latest')}"


def render(directory: Path) -> list[Resource]:
    """The resources ``kustomize build directory`` produces (for the features above)."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise RenderError(f"{directory}: kustomization fields not rendered here: {sorted(unknown)}")
    resources: list[Resource] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        resources += render(path) if path.is_dir() else load_documents(path)
    for entry in kustomization.get("patches", []):
        patch = yaml.safe_load((directory / entry["path"]).read_text(encoding="utf-8"))
        target = entry.get("target") or {"kind": patch["kind"], "name": patch["metadata"]["name"]}
        chosen = [index for index, res in enumerate(resources) if _selected(res, target)]
        if not chosen:
            raise RenderError(f"{directory}: patch {entry['path']} matches no resource")
        for index in chosen:
            body = copy.deepcopy(patch)
            body["metadata"]["name"] = resources[index]["metadata"]["name"]
            resources[index] = merge(resources[index], body)
    _set_images(resources, kustomization.get("images", []))
    namespace = kustomization.get("namespace")
    if namespace:
        for resource in resources:
            if resource["kind"] not in CLUSTER_KINDS:
                resource.setdefault("metadata", {})["namespace"] = namespace
    names = [(r["kind"], r["metadata"].get("namespace"), r["metadata"]["name"]) for r in resources]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise RenderError(f"{directory}: resources defined twice: {sorted(map(str, duplicates))}")
    return resources
