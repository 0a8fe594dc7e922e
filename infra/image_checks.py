"""What the deploy workflow's image check runs inside each built training image: every image
function's handler imported with the variables the template gives that function.

A handler checks its variables at import (mlops.shared.settings.require), so importing it with no
environment fails however good the image is. This reads the synthesized template and writes, per
image function, an env file of its variables (a value known only at deploy time, a Ref or a
GetAtt, stands as a placeholder: a cold start only needs it set) and prints one line per function:
`<env file> <handler module>`. Stdlib only: it runs on the CI runner before any venv exists.

Usage: python3 infra/image_checks.py cdk.out/MlopsPlatform.template.json cdk.out/image-checks
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def image_functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function" and resource["Properties"].get("PackageType") == "Image"
    }


def environment(properties: dict[str, Any]) -> dict[str, str]:
    variables = properties.get("Environment", {}).get("Variables", {})
    return {name: value if isinstance(value, str) else f"deployed-{name.lower()}" for name, value in variables.items()}


def handler_module(properties: dict[str, Any]) -> str:
    return properties["ImageConfig"]["Command"][0].rsplit(".", 1)[0]


def write_checks(template_path: Path, folder: Path) -> list[tuple[Path, str]]:
    template = json.loads(template_path.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    checks = []
    for logical_id, properties in sorted(image_functions(template).items()):
        env_file = folder / f"{logical_id}.env"
        env_file.write_text("".join(f"{name}={value}\n" for name, value in sorted(environment(properties).items())))
        checks.append((env_file, handler_module(properties)))
    return checks


if __name__ == "__main__":
    for env_file, module in write_checks(Path(sys.argv[1]), Path(sys.argv[2])):
        print(env_file, module)
