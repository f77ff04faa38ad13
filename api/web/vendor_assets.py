"""Re-fetch the web UI's third-party assets from the npm registry and check them (no Node, no build step).

`api/web/vendor.json` pins each package: its version, the tarball's sha512 integrity (as the registry publishes it), and
for each file taken from the tarball its sha256. `python -m taskstream.api.web.vendor_assets` (or
`python api/web/vendor_assets.py`) downloads each pinned tarball from https://registry.npmjs.org, checks its
integrity, extracts the listed files into `static/vendor/<package>/` and checks their sha256; `--check` only checks the
files already here (offline; the tests run it). Nothing is ever loaded from a CDN at run time: the server serves
these files itself under `/ui/static/vendor/`.

To add a package: put `{"<name>": {"version": "x.y.z", "files": {"<path in the tarball>": ""}}}` in vendor.json,
run with `--pin` (fills in the integrity and the sha256s from what it fetched), and commit the files and the pins.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

MANIFEST = Path(__file__).parent / "vendor.json"
HERE = Path(__file__).parent / "static" / "vendor"
REGISTRY = "https://registry.npmjs.org"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def _target(name: str, path: str) -> Path:
    return HERE / name / Path(path).name


def check(manifest: dict[str, Any]) -> list[str]:
    """The problems with the files here: missing, or not the pinned content."""
    problems = []
    for name, pin in manifest.items():
        for path, digest in pin["files"].items():
            target = _target(name, path)
            if not target.exists():
                problems.append(f"{name}: {target.name} is missing")
            elif _sha256(target.read_bytes()) != digest:
                problems.append(f"{name}: {target.name} is not the pinned file (sha256 differs)")
    return problems


def fetch(name: str, pin: dict[str, Any], repin: bool) -> None:
    """Download the package's tarball, check it, extract the listed files (pinning them with `repin`)."""
    url = f"{REGISTRY}/{name}/-/{name.split('/')[-1]}-{pin['version']}.tgz"
    with urllib.request.urlopen(url, timeout=60) as response:
        data = response.read()
    if repin:
        pin["integrity"] = _integrity(data)
    elif _integrity(data) != pin["integrity"]:
        raise SystemExit(f"{name}@{pin['version']}: the tarball's integrity differs from the pin")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for path in pin["files"]:
            member = archive.extractfile(f"package/{path}")
            if member is None:
                raise SystemExit(f"{name}: {path} is not in the tarball")
            content = member.read()
            if repin:
                pin["files"][path] = _sha256(content)
            elif _sha256(content) != pin["files"][path]:
                raise SystemExit(f"{name}: {path} differs from the pin")
            target = _target(name, path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    print(f"{name}@{pin['version']}: {len(pin['files'])} files")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check the files here against the pins")
    parser.add_argument("--pin", action="store_true", help="fetch and write the pins of what was fetched")
    args = parser.parse_args()
    manifest = json.loads(MANIFEST.read_text())
    if args.check:
        problems = check(manifest)
        print("\n".join(problems) or "every vendored file matches its pin")
        return 1 if problems else 0
    for name, pin in manifest.items():
        fetch(name, pin, args.pin)
    if args.pin:
        MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
