"""The wheel, installed into a fresh virtualenv outside the repository, works from an unrelated folder.

The folder holds a ``schemas.py`` and a ``flows/`` package of the user's own, which would shadow top-level
``schemas``/``flows`` imports: Concord installs under one ``concord`` namespace, so they must never load.
Everything runs offline: the wheel is built without build isolation and installed with ``--no-deps``; the
new environment sees this environment's library folders through ``.pth`` lines (not Concord itself: the
editable install's finder is activated by a ``.pth`` file that a path line does not process).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import ROOT
from tests.cli.helpers import _env_file

pytestmark = pytest.mark.slow

SOURCES = ("concord", "schemas", "hub", "connectors", "flows", "mappings")
FILES = ("pyproject.toml", "setup.py", "README.md", "prefect.yaml")
TRAP = 'raise ImportError("the user\'s own {name} was imported instead of Concord\'s")\n'


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 600,
         ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode in ok, f"{' '.join(cmd)} -> {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str], str]]:
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCES:
        shutil.copytree(ROOT / name, src / name, ignore=ignore, symlinks=False)
    for name in FILES:
        shutil.copyfile(ROOT / name, src / name)
    build = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w",
                  str(base / "dist"), str(src)], cwd=base, env=dict(os.environ))
    # the build backend's deprecations (setuptools prints them whatever PYTHONWARNINGS says); pip's own are not ours
    log = [ln for ln in (build.stdout + build.stderr).splitlines() if "pip/_internal" not in ln]
    bad = [ln for ln in log if "deprecat" in ln.lower() or "BuildBackendWarning" in ln]
    assert not bad, "\n".join(bad)
    [wheel] = (base / "dist").glob("concord_hub-*.whl")

    env_dir = base / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    purelib = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=base,
                        env=dict(os.environ)).stdout.strip())
    # this environment's library folders (those its own .pth files add too); the checkout's folders are not
    # among them, and its editable finder is not carried over
    libs = [p for p in dict.fromkeys(sys.path) if p and Path(p).name in ("site-packages", "dist-packages")
            and Path(p).is_dir()]
    (purelib / "_concord_test_deps.pth").write_text("\n".join(libs) + "\n", encoding="utf-8")
    _run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)], cwd=base,
         env=dict(os.environ))

    work = base / "unrelated"
    (work / "flows").mkdir(parents=True)
    (work / "schemas.py").write_text(TRAP.format(name="schemas.py"), encoding="utf-8")
    (work / "flows" / "__init__.py").write_text(TRAP.format(name="flows/"), encoding="utf-8")
    (work / "hub.py").write_text(TRAP.format(name="hub.py"), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("CONCORD_DATABASE_URL", "CONCORD_MAPPINGS_DIR",
                                                           "PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(work)       # as if the user's folder were on the path, like a script's own folder
    yield work, env, str(env_dir / "bin" / "concord")


def test_the_wheel_carries_mappings_packs_and_prefect_yaml(installed: tuple[Path, dict[str, str], str]) -> None:
    work, env, _exe = installed
    py = str(Path(_exe).parent / "python")
    probe = ("import concord, concord.hub.cli, concord.schemas, concord.flows.sync; from importlib import resources;"
             "import json; r = resources.files('concord');"
             "print(json.dumps({'file': concord.__file__, 'version': concord.__version__,"
             "'mappings': sorted(p.name for p in r.joinpath('mappings').iterdir() if p.is_dir()),"
             "'packs': sorted(p.name for p in r.joinpath('hub', 'packs').iterdir() if p.is_dir()),"
             "'prefect': r.joinpath('prefect.yaml').read_text()[:200]}))")
    got = json.loads(_run([py, "-c", probe], cwd=work, env=env).stdout)
    assert Path(got["file"]).is_relative_to(Path(_exe).parents[1]), got["file"]   # the venv, not the checkout
    assert not Path(got["file"]).is_relative_to(ROOT)
    assert {"sap_odata", "salesforce", "oracle_fusion", "soap_erp", "zoho_crm", "fxiaoke"} <= set(got["mappings"])
    assert {"customer-master", "catalogue", "order-to-cash"} <= set(got["packs"])
    assert "concord.flows.sync:" in _run([py, "-c", "from importlib import resources; print(resources.files("
                                             "'concord').joinpath('prefect.yaml').read_text())"], cwd=work,
                                         env=env).stdout
    assert _run([_exe, "--version"], cwd=work, env=env).stdout.strip().endswith(got["version"])
    # the deployments work from the installed package: every entrypoint imports as a Prefect flow
    deploy = work / "deploy"
    deploy.mkdir()
    _run([_exe, "prefect-yaml", str(deploy)], cwd=work, env=env)
    check = ("import sys, yaml; from prefect.flows import Flow; from prefect.utilities.importtools import import_object;"
             "doc = yaml.safe_load(open(sys.argv[1]));"
             "eps = sorted({d['entrypoint'] for d in doc['deployments']});"
             "assert all(isinstance(import_object(e), Flow) for e in eps), eps; print(len(eps))")
    assert int(_run([py, "-c", check, str(deploy / "prefect.yaml")], cwd=work, env=env).stdout) >= 3


def test_init_check_sync_and_demo_from_an_unrelated_folder(installed: tuple[Path, dict[str, str], str]) -> None:
    work, env, exe = installed
    _run([exe, "init", "--erp", "sap_odata", "--crm", "salesforce", "--sandbox", "proj"], cwd=work, env=env)
    folder = work / "proj"
    up = subprocess.Popen([exe, "sandbox", "up", "--project", str(folder), "--seed", "3", "--size", "12"],
                          cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [json.loads(up.stdout.readline() or "null") for _ in range(2)]
        assert all(lines), up.stderr.read() if up.poll() is not None else "no JSON line"
        run_env = {**env, **_env_file(folder / "sandbox.env")}
        run_env.pop("CONCORD_DATABASE_URL", None)
        assert "ok:" in _run([exe, "check"], cwd=folder, env=run_env).stdout
        summary = json.loads(_run([exe, "sync", "--json"], cwd=folder, env=run_env).stdout)
        assert summary["status"] == "success", summary
        assert summary["streams"]["salesforce"]["account"]["written"] > 0, summary
    finally:
        up.send_signal(signal.SIGTERM)
        _out, err = up.communicate(timeout=30)
        assert "Traceback" not in err, err
    demo = _run([exe, "demo", "--size", "tiny", "--folder", str(work / "demo")], cwd=work, env=env, timeout=900)
    assert "Traceback" not in demo.stdout
    assert (work / "demo" / "concord.yaml").is_file()
