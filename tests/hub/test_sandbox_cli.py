"""`concord sandbox up` for every installed sandbox: a JSON line, a real answer on loopback, a clean stop;
and start-up errors as one line with exit code 2, never a traceback."""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from concord.hub import registry
from tests.conftest import run_cli

KNOWN = {"files", "salesforce", "sap_odata", "oracle_fusion", "soap_erp", "zoho_crm", "fxiaoke"}
SANDBOXES = registry.names(registry.SANDBOX_GROUP)


def _exe() -> str:
    return shutil.which("concord", path=str(Path(sys.executable).parent)) or "concord"


def _up(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([_exe(), "sandbox", "up", *args, "--seed", "3", "--size", "12"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    try:
        _out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError("the sandbox did not stop within 30 s of SIGINT") from None
    assert proc.returncode in (0, -signal.SIGINT, 130), err
    assert "Traceback" not in err, err
    return err


def _read_line(proc: subprocess.Popen[str]) -> dict:
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=30)
        raise AssertionError(f"no JSON line (exit {proc.returncode}): {proc.stderr.read()}")
    return json.loads(line)


def _serves(line: dict) -> None:
    """One real request on loopback: the sandbox answers over HTTP(S) (files: its folder exists)."""
    base = line["base_url"]
    if base.startswith("file://"):
        assert Path(urlparse(base).path).is_dir()
        return
    host = urlparse(base).hostname
    assert host in ("127.0.0.1", "localhost", "::1"), base
    verify = line.get("ca_file") or True
    if line["system"] == "soap_erp":                       # the page WSDL, with this server's address in it
        url = next(iter(line["pages"].values()))
        r = requests.get(url, auth=(line["credentials"]["username"], line["credentials"]["password"]), timeout=10)
        assert r.status_code == 200 and url in r.text and "definitions" in r.text
        return
    r = requests.get(base + "/", timeout=10, verify=verify)
    assert 200 <= r.status_code < 600 and r.headers.get("Content-Type") is not None


def test_every_known_sandbox_is_installed() -> None:
    assert KNOWN <= set(SANDBOXES)


@pytest.mark.parametrize("name", SANDBOXES)
def test_sandbox_up_prints_json_serves_and_stops(name: str) -> None:
    proc = _up(name)
    try:
        line = _read_line(proc)
        assert line["system"] == name and line["base_url"]
        json.dumps(line)                                    # what was printed is plain JSON
        _serves(line)
    finally:
        if proc.poll() is None:
            _stop(proc)


def test_sandbox_up_without_names_starts_them_all() -> None:
    proc = _up()
    try:
        lines = [_read_line(proc) for _ in SANDBOXES]
        assert sorted(line["system"] for line in lines) == sorted(SANDBOXES)
        for line in lines:
            _serves(line)
    finally:
        if proc.poll() is None:
            _stop(proc)


def _one_line_error(*args: str) -> str:
    proc = run_cli("sandbox", "up", *args, "--size", "5", check=False, timeout=120)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert proc.stdout == ""                                 # nothing was announced as running
    return lines[0]


def test_missing_wsdl_file_is_one_line(tmp_path: Path) -> None:
    line = _one_line_error("soap_erp", "--wsdl", str(tmp_path / "nope.wsdl"))
    assert "soap_erp" in line and "nope.wsdl" in line


def test_missing_edmx_file_is_one_line(tmp_path: Path) -> None:
    line = _one_line_error("sap_odata", "--metadata", str(tmp_path / "nope.edmx"))
    assert "sap_odata" in line and "nope.edmx" in line


@pytest.mark.parametrize("content", ["<definitions", "<?xml version='1.0'?><html><body>not a wsdl</body></html>",
                                     "not xml at all"])
def test_bad_wsdl_is_one_line(tmp_path: Path, content: str) -> None:
    bad = tmp_path / "bad.wsdl"
    bad.write_text(content)
    line = _one_line_error("soap_erp", "--wsdl", str(bad))
    assert "soap_erp" in line and "bad.wsdl" in line


def test_wsdl_with_a_dtd_is_refused_in_one_line(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.wsdl"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "b">]><definitions '
                    'xmlns="http://schemas.xmlsoap.org/wsdl/">&a;</definitions>')
    line = _one_line_error("soap_erp", "--wsdl", str(bomb))
    assert "soap_erp" in line


def test_odata_v4_edmx_for_sap_odata_is_one_line(tmp_path: Path) -> None:
    v4 = tmp_path / "v4.edmx"
    v4.write_text('<?xml version="1.0" encoding="utf-8"?>'
                  '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices>'
                  '<Schema Namespace="Z" xmlns="http://docs.oasis-open.org/odata/ns/edm"><EntityType Name="A">'
                  '<Key><PropertyRef Name="Id"/></Key><Property Name="Id" Type="Edm.String" Nullable="false"/>'
                  '</EntityType><EntityContainer Name="C"><EntitySet Name="As" EntityType="Z.A"/></EntityContainer>'
                  '</Schema></edmx:DataServices></edmx:Edmx>')
    line = _one_line_error("sap_odata", "--metadata", str(v4))
    assert "sap_odata" in line


def test_unknown_sandbox_lists_the_known_ones() -> None:
    line = _one_line_error("nosuch")
    assert "unknown sandbox 'nosuch'" in line and "soap_erp" in line
