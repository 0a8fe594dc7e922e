"""Reads a synthesized cloud assembly (cdk.out): the stack's template and where its assets are."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class StackArtifact:
    name: str
    template: dict[str, Any]
    outdir: Path

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template.get("Resources", {})

    def asset_dir(self, resource: dict[str, Any]) -> Path:
        """The staged asset a Lambda function, layer or image was built from."""
        path = resource.get("Metadata", {}).get("aws:asset:path")
        if not path:
            raise ValueError("resource has no aws:asset:path metadata (synthesize with asset metadata on)")
        return self.outdir / path

    def file_asset(self, object_key: str) -> Path:
        """A file asset by its S3 object key (state machine definitions uploaded as assets)."""
        manifest = json.loads((self.outdir / f"{self.name}.assets.json").read_text())
        asset_hash = object_key.split(".", 1)[0]
        return self.outdir / manifest["files"][asset_hash]["source"]["path"]


def load_dependencies(outdir: Path, stack_name: str) -> list[StackArtifact]:
    """The stacks `stack_name` depends on, in deploy order (`cdk deploy --all` deploys them first)."""
    manifest = json.loads((outdir.resolve() / "manifest.json").read_text())["artifacts"]
    ordered: list[StackArtifact] = []
    for name in manifest[stack_name].get("dependencies", []):
        if manifest.get(name, {}).get("type") == "aws:cloudformation:stack":
            ordered += [*load_dependencies(outdir, name), load_stack(outdir, name)]
    return ordered


def load_stack(outdir: Path, stack_name: str) -> StackArtifact:
    outdir = outdir.resolve()
    manifest = json.loads((outdir / "manifest.json").read_text())
    artifact = manifest["artifacts"].get(stack_name)
    if artifact is None or artifact.get("type") != "aws:cloudformation:stack":
        raise KeyError(f"no stack {stack_name!r} in {outdir}")
    template_file = artifact["properties"]["templateFile"]
    template = json.loads((outdir / template_file).read_text())
    return StackArtifact(name=artifact.get("displayName", stack_name), template=template, outdir=outdir)
