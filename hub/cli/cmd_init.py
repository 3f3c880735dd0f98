"""concord init: a starter project (two `files` systems with a small sample drop each)."""
from __future__ import annotations

import os
import shutil
from importlib import resources

import typer

from hub.cli.common import console, err_console


def register(app: typer.Typer) -> None:
    @app.command()
    def init(folder: str = typer.Argument(".", help="Where to write the project."),
             force: bool = typer.Option(False, "--force", help="Overwrite existing files.")) -> None:
        """Write concord.yaml, mappings and sample drops, ready for `concord check` and `concord sync`."""
        src = resources.files("hub.starter")
        written, skipped = [], []
        os.makedirs(folder, exist_ok=True)

        def copy(node: resources.abc.Traversable, rel: str) -> None:
            for child in node.iterdir():
                name = child.name
                if name.startswith("__") or name.endswith(".pyc"):
                    continue
                target_rel = os.path.join(rel, name)
                target = os.path.join(folder, target_rel)
                if child.is_dir():
                    os.makedirs(target, exist_ok=True)
                    copy(child, target_rel)
                    continue
                if os.path.exists(target) and not force:
                    skipped.append(target_rel)
                    continue
                with child.open("rb") as fin, open(target, "wb") as fout:
                    shutil.copyfileobj(fin, fout)
                written.append(target_rel)

        copy(src, "")
        for w in sorted(written):
            console.print(f"  wrote {w}")
        for s in sorted(skipped):
            err_console.print(f"  kept existing {s} (use --force to overwrite)")
        console.print("next: concord check && concord plan && concord sync")
