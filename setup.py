"""Packages of the `concord-hub` distribution (everything else is in pyproject.toml).

One import namespace, ``concord``, mapped from the repository's top-level folders, so the folders stay
where integrators expect them and an installed Concord cannot be shadowed by a user's own ``schemas.py``
or ``flows/``. The sub-packages are found here because setuptools' ``find`` cannot rename while it finds.
"""
from __future__ import annotations

from pathlib import Path

from setuptools import find_packages, setup

FOLDERS = {"schemas": "schemas", "hub": "hub", "connectors": "connectors", "flows": "flows", "mappings": "mappings"}
#: data files shipped beside the code: mappings, scenario packs, templates, sandbox metadata (EDMX, WSDL), SQL
DATA_SUFFIXES = {".yaml", ".yml", ".html", ".css", ".js", ".sql", ".csv", ".jsonl", ".json", ".xml", ".edmx", ".wsdl",
                 ".xsd", ".ini", ".mako", ".md", ".txt"}


def data_of(folder: Path) -> list[str]:
    """Data files of the package in ``folder``: its own and those in sub-folders that are not packages."""
    out = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        script = path.suffix == ".py" and len(rel.parts) > 1     # e.g. the Alembic environment and versions
        if not path.is_file() or not (path.suffix in DATA_SUFFIXES or script) or "__pycache__" in path.parts:
            continue
        if not any((folder / Path(*rel.parts[:i]) / "__init__.py").is_file() for i in range(1, len(rel.parts))):
            out.append(rel.as_posix())
    return out


packages = ["concord"]
package_dir = {"concord": "concord"}
package_data = {"concord": ["prefect.yaml"]}
for name, folder in FOLDERS.items():
    package_dir[f"concord.{name}"] = folder
    subs = [""] + [f".{sub}" for sub in find_packages(folder)]
    for sub in subs:
        packages.append(f"concord.{name}{sub}")
        files = data_of(Path(folder, *sub.split(".")[1:]))
        if files:
            package_data[f"concord.{name}{sub}"] = files

setup(
    packages=packages,
    package_dir=package_dir,
    package_data=package_data,
    include_package_data=False,
)
