"""concord demo: every landed connector's sandbox, one world, a ready project, two cycles, a summary."""
from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import typer

from concord.hub.cli.common import console, err_console, guarded, print_json, setup_logging, show, table


def _render(s: dict[str, Any]) -> None:
    table(f"Concord demo · world of {s['world']['size']} companies (seed {s['world']['seed']}) · {s['seconds']:.1f}s",
          ["system", "role", "records", "api calls"],
          [[name, info["role"], ", ".join(f"{e} {n}" for e, n in sorted(s["records_per_system"].get(name, {}).items()))
            or "0", s["api_calls"].get(name, 0)] for name, info in s["systems"].items()], right=("api calls",))
    _render_business(s.get("business") or {})
    for c in s["cycles"]:
        console.print(f"[bold]{c['label']}[/]: {c['status']} in {c['seconds']:.1f}s · read {c['read']} · "
                      f"changed {c['changed']} · written {c['written']} · linked {c['linked']} · "
                      f"new golden {c['new_golden']} · quarantined {c['quarantined']} · dead letters {c['dead_lettered']}")
        for e in c["errors"]:
            console.print(f"    [red]{e}[/]")
    for e in s["edits"]:
        console.print(f"edited {e['system']} {e['record']}: {e['field']} {show(e['from'])} -> {show(e['to'])}",
                      markup=False)
    console.print(f"golden records: {', '.join(f'{k} {v}' for k, v in sorted(s['golden_records'].items()))} · "
                  f"links {s['links']} ({s['golden_in_several_systems']} golden records in 2+ systems) · "
                  f"open conflicts {s['conflicts_open']} · dead letters {s['dead_letters']} · "
                  f"API calls {sum(s['api_calls'].values())}")
    for n in s["notes"]:
        console.print(f"[yellow]note[/]: {n}")
    console.print(f"project: {s['config']} · warehouse: {s['warehouse']}")


def _render_business(b: dict[str, Any]) -> None:
    """Orders created in the ERPs with what came back to the deals; catalogue, invoices, receivables, KPIs per CRM."""
    for o in b.get("orders") or ():
        back = o["back_on_deal"]
        where = "deal" if o.get("entity", "opportunity") == "opportunity" else "CRM order"
        console.print(f"order to cash: {o['crm']} won {where} {o['deal']!r} -> {o['erp']} sales order "
                      f"{o['order_number'] or '(no number yet)'} ({o['order_status']}, {o['order_lines']} lines, "
                      f"net {o['net_amount']} {o['currency']}); back on the {where}: "
                      + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in back.items()),
                      markup=False, highlight=False)
    if b.get("orders_created"):
        console.print("sales orders created by Concord: " + ", ".join(
            f"{erp} {n}" for erp, n in sorted(b["orders_created"].items())) + " · won deals routed: " + ", ".join(
            f"{crm} -> {erp}" for crm, erp in sorted((b.get("routes") or {}).items())), markup=False)
    crms = b.get("crms") or {}
    if crms:
        table("Business flows in the CRMs (accounts, products and invoices linked to each CRM)",
              ["crm", "products (in stock)", "invoices", "accounts with open receivables", "open", "overdue",
               "lifetime value", "credit exposure"],
              [[name, f"{c['products']} ({c['products_in_stock']})", c["invoice_records"],
                f"{c['accounts_with_open_receivables']} of {c['accounts']}", c["open_receivables"],
                c["overdue_receivables"], c["lifetime_value"], c["credit_exposure"]] for name, c in crms.items()],
              right=("open", "overdue", "lifetime value", "credit exposure"))


def _serve(demo: Any, config: str) -> None:
    """Keep the sandboxes (and the dashboard, once it exists) running until Ctrl-C or SIGTERM."""
    child = None
    if importlib.util.find_spec("concord.hub.cli.cmd_dashboard") is not None:
        exe = os.path.join(os.path.dirname(sys.executable), "concord")
        cmd = [exe if os.path.exists(exe) else "concord", "dashboard", "-c", config]
        child = subprocess.Popen(cmd, env=os.environ.copy())  # secrets travel in the environment only
        console.print(f"dashboard: {' '.join(cmd)} (pid {child.pid}); sign in with CONCORD_DASHBOARD_TOKEN from "
                      f"{os.path.join(os.path.dirname(config), 'sandbox.env')}")
    else:
        console.print("the dashboard is not installed yet; sandboxes keep running")
    for name, sb in demo.running.items():
        console.print(f"  {name}: {sb.base_url}")
    console.print("serving; Ctrl-C stops everything")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_a: stop.set())
    try:
        while not stop.wait(0.5):
            if child is not None and child.poll() is not None:
                err_console.print(f"the dashboard exited with {child.returncode}")
                child = None
    except KeyboardInterrupt:
        pass
    finally:
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(size: str = typer.Option("small", "--size", help="World size: tiny, small, medium, large or a number "
                                                               "of companies."),
             seed: int = typer.Option(42, "--seed", help="World seed (same seed, same world)."),
             json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
             serve: bool = typer.Option(False, "--serve", help="Keep the sandboxes (and the dashboard) running."),
             folder: str = typer.Option("demo", "--folder", help="Where to write the demo project."),
             verbose: bool = typer.Option(False, "--verbose", "-v")) -> None:
        """Start every connector's sandbox, write a ready project, run a full and an incremental cycle."""
        from concord.hub.demo.runner import Demo, parse_size, run

        setup_logging(verbose)
        n = guarded(lambda: parse_size(size))
        say = (lambda m: err_console.print(m)) if json_out else (lambda m: console.print(m))
        d = Demo(Path(folder).resolve(), n, seed, say=say)
        from concord.hub.cli.progress import make_progress

        try:
            with make_progress(err_console) as d.progress:
                summary = guarded(lambda: run(d))
            if json_out:
                print_json(summary)
            else:
                _render(summary)
                env_file = os.path.relpath(summary["env_file"])
                console.print(f"next: [bold]{summary['next']}[/]  ({env_file} holds the sandbox credentials and "
                              "CONCORD_DASHBOARD_TOKEN, the token to sign in to the dashboard with)")
            if serve:
                _serve(d, summary["config"])
        finally:
            d.stop()
        failed = any(c["status"] == "failed" for c in summary["cycles"])
        raise typer.Exit(1 if failed else 0)
