"""concord prefect-yaml: write the shipped Prefect deployments (``prefect.yaml``) into a project folder.

The template ships inside the package (``concord/prefect.yaml``) and names flows by module
(``concord.flows.sync:sync_entity``), so ``prefect deploy --all`` works from an installed Concord, with no
checkout on the workers.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import typer

from concord.hub.cli.common import JsonOpt, console, err_console, print_json

NEXT_STEPS = """next:
  export PREFECT_API_URL=http://127.0.0.1:4200/api      # your Prefect server
  export CONCORD_HOME={folder}  CONCORD_CONFIG={folder}/concord.yaml
  prefect work-pool create concord-process --type process
  prefect --no-prompt deploy --all                     # from {folder}
  prefect worker start --pool concord-process          # on every worker machine (pip install concord-hub)"""


def template() -> str:
    """The shipped ``prefect.yaml``."""
    return resources.files("concord").joinpath("prefect.yaml").read_text(encoding="utf-8")


def register(app: typer.Typer) -> None:
    @app.command("prefect-yaml")
    def prefect_yaml(folder: Path = typer.Argument(Path("."), help="The project folder (where concord.yaml is)."),
                     force: bool = typer.Option(False, "--force", help="Replace an existing prefect.yaml."),
                     json_out: bool = JsonOpt) -> None:
        """Write the Prefect deployments (prefect.yaml) for workers on many machines."""
        target = folder / "prefect.yaml"
        if target.exists() and not force:
            err_console.print(f"[bold red]error[/]: {target} exists; --force replaces it")
            raise typer.Exit(2)
        if not folder.is_dir():
            err_console.print(f"[bold red]error[/]: {folder} is not a folder")
            raise typer.Exit(2)
        target.write_text(template(), encoding="utf-8")
        if json_out:
            print_json({"written": str(target)})
            return
        console.print(f"wrote {target}")
        console.print(NEXT_STEPS.format(folder=folder.resolve()), markup=False, highlight=False)
