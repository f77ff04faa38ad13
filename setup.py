"""Packaging: the top-level folders `api/`, `commands/`, `projections/` and `schemas/` install as
`taskstream.api`, `taskstream.commands`, `taskstream.projections` and `taskstream.schemas`.

Every folder below them is a package (namespace packages where there is no `__init__.py`, as for the folders of
HOCON and SQL files) and every non-Python file in a folder is its package data, all found here, so a wheel holds
every module and data file and nothing is listed by hand.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).parent
FOLDERS = ("api", "commands", "projections", "schemas")


def _folders() -> list[Path]:
    found = []
    for top in FOLDERS:
        found += [ROOT / top, *(p for p in (ROOT / top).rglob("*") if p.is_dir() and p.name != "__pycache__")]
    return [p.relative_to(ROOT) for p in found]


def _data(folder: Path) -> list[str]:
    return sorted(p.name for p in (ROOT / folder).iterdir() if p.is_file() and p.suffix not in {".py", ".pyc"})


FOUND = {"taskstream." + ".".join(folder.parts): folder for folder in _folders()}
setup(
    packages=sorted(FOUND),
    package_dir={f"taskstream.{top}": top for top in FOLDERS},
    package_data={name: _data(folder) for name, folder in FOUND.items() if _data(folder)},
)
