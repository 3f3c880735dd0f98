"""Packages of the `concord-hub` distribution (everything else is in pyproject.toml).

One import namespace, ``concord``, mapped from the repository's top-level folders, so the folders stay
where integrators expect them and an installed Concord cannot be shadowed by a user's own ``schemas.py``
or ``flows/``. The sub-packages are found here because setuptools' ``find`` cannot rename while it finds.
"""
from __future__ import annotations

from setuptools import find_packages, setup

FOLDERS = {"schemas": "schemas", "hub": "hub", "connectors": "connectors", "flows": "flows", "mappings": "mappings"}
DATA = ["*.yaml", "*.yml", "*.html", "*.css", "*.sql", "*.csv", "*.jsonl", "*.json", "*.xml", "*.edmx", "*.wsdl",
        "*.ini", "*.mako", "*.md", "*/*.yaml", "*/*.md"]

packages = ["concord"]
package_dir = {"concord": "concord"}
for name, folder in FOLDERS.items():
    package_dir[f"concord.{name}"] = folder
    packages.append(f"concord.{name}")
    packages += [f"concord.{name}.{sub}" for sub in find_packages(folder)]

setup(
    packages=packages,
    package_dir=package_dir,
    package_data={"concord": ["prefect.yaml"], **{pkg: DATA for pkg in packages}},
    include_package_data=False,
)
