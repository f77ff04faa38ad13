"""Re-fetch the vendored uPlot (api/web/static/vendor/uplot/) from the npm registry and check it.

    python deploy/web/fetch_uplot.py          # download, verify, write the three files
    python deploy/web/fetch_uplot.py --check  # verify the vendored files against SHA256SUMS (no network)

The tarball is checked against the registry's published integrity (sha512) before anything is extracted, and each
vendored file against the sha256 in SHA256SUMS beside it; a mismatch stops with an error and writes nothing.
To move to another version: change VERSION and INTEGRITY (`npm view uplot@X dist.integrity`), run this, and
commit the files with the new SHA256SUMS it prints.
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

VERSION = "1.6.32"
TARBALL = f"https://registry.npmjs.org/uplot/-/uplot-{VERSION}.tgz"
INTEGRITY = "sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw=="
# member of the tarball -> name in the vendor folder
FILES = {"package/dist/uPlot.iife.min.js": "uPlot.iife.min.js", "package/dist/uPlot.min.css": "uPlot.min.css",
         "package/LICENSE": "LICENSE"}
VENDOR = Path(__file__).resolve().parents[2] / "api" / "web" / "static" / "vendor" / "uplot"
SUMS = VENDOR / "SHA256SUMS"


def expected_sums() -> dict[str, str]:
    """name -> sha256 hex, from SHA256SUMS (`<hex>  <name>` lines)."""
    pairs = (line.split() for line in SUMS.read_text().splitlines() if line.strip())
    return {name: digest for digest, name in pairs}


def check_vendored() -> list[str]:
    """The vendored files whose content does not match SHA256SUMS (empty when all match)."""
    return [name for name, digest in expected_sums().items()
            if not (VENDOR / name).is_file() or hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() != digest]


def fetch() -> dict[str, bytes]:
    """The three files from the registry's tarball, after checking its sha512 integrity."""
    with urllib.request.urlopen(TARBALL, timeout=60) as answer:
        tarball = answer.read()
    digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    if digest != INTEGRITY:
        raise SystemExit(f"{TARBALL}: integrity {digest} is not the pinned {INTEGRITY}")
    files = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for member, name in FILES.items():
            extracted = archive.extractfile(member)
            if extracted is None:
                raise SystemExit(f"{TARBALL}: {member} is not a file")
            files[name] = extracted.read()
    return files


def main(argv: list[str]) -> int:
    if "--check" in argv:
        bad = check_vendored()
        print("uPlot vendored files match SHA256SUMS" if not bad else f"mismatch: {', '.join(bad)}")
        return 1 if bad else 0
    files = fetch()
    sums = {name: hashlib.sha256(content).hexdigest() for name, content in files.items()}
    if SUMS.exists() and sums != expected_sums():
        raise SystemExit(f"the fetched files differ from {SUMS}; update it deliberately:\n"
                         + "".join(f"{d}  {n}\n" for n, d in sums.items()))
    VENDOR.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (VENDOR / name).write_bytes(content)
    SUMS.write_text("".join(f"{digest}  {name}\n" for name, digest in sums.items()))
    print(f"uPlot {VERSION} written to {VENDOR}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
