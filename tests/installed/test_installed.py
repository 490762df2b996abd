"""The installed wheel, used as the README says, from outside the checkout (see conftest)."""

from __future__ import annotations

import http.client
import json
import signal
import ssl
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADMISSION_FIXTURES, REPO, free_port
from tests.installed.conftest import DROPPED_AFTER_INSTALL, InstalledPackage

pytestmark = pytest.mark.integration


def test_the_package_is_imported_from_the_virtual_environment(
        installed: InstalledPackage) -> None:
    done = installed.run("python", "-c", "import webhook, sys; print(webhook.__file__); "
                                         "print(sys.prefix)")
    assert done.returncode == 0, done.stderr
    module_file, prefix = done.stdout.split()
    assert Path(module_file).is_relative_to(installed.venv), module_file
    assert not Path(module_file).is_relative_to(REPO)
    assert Path(prefix) == installed.venv


def test_pip_check_is_clean_and_no_test_or_build_tool_is_installed(
        installed: InstalledPackage) -> None:
    done = installed.run("python", "-m", "pip", "check")
    assert done.returncode == 0, done.stdout + done.stderr
    listed = installed.run("python", "-m", "pip", "list", "--format=json")
    names = {entry["name"].lower() for entry in json.loads(listed.stdout)}
    assert "netpol-guard" in names
    # The test extra must not be what makes the package work.
    assert not names & {"pytest", "hypothesis", "kubernetes-validate", "helm-python-sdk",
                        *DROPPED_AFTER_INSTALL}


# Run by the installed interpreter: every module of the package imports, and every module named
# by any import statement (module level or inside a function: the commands import lazily)
# resolves, with the runtime dependencies alone.
IMPORT_EVERYTHING = """
import ast, importlib, importlib.util, pathlib, pkgutil, sys, webhook
root = pathlib.Path(webhook.__file__).parent
modules = [m.name for m in pkgutil.walk_packages(webhook.__path__, "webhook.")
           if not m.name.endswith(".__main__")]
for name in modules:
    importlib.import_module(name)
named = set()
for path in root.rglob("*.py"):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            named.add(node.module)
missing = sorted(name for name in named if importlib.util.find_spec(name.split(".")[0]) is None)
print(len(modules), len(named), missing)
sys.exit(1 if missing else 0)
"""


def test_every_module_and_every_import_resolves_with_the_runtime_dependencies(
        installed: InstalledPackage) -> None:
    done = installed.run("python", "-c", IMPORT_EVERYTHING)
    assert done.returncode == 0, done.stdout + done.stderr
    modules, named, missing = done.stdout.split(" ", 2)
    assert int(modules) > 30 and int(named) > 30 and missing.strip() == "[]"


def test_version(installed: InstalledPackage) -> None:
    from webhook import __version__

    done = installed.run("netpol-guard", "--version")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"netpol-guard {__version__}\n",
                                                           "")


def test_policy_validate_on_the_packaged_policy_and_on_a_broken_one(
        installed: InstalledPackage) -> None:
    where = installed.run("python", "-c", "from importlib import resources; print(resources."
                                          "files('webhook.policy') / 'default-policy.yaml')")
    packaged = Path(where.stdout.strip())
    assert packaged.is_relative_to(installed.venv) and packaged.is_file()
    done = installed.run("netpol-guard", "policy", "validate", str(packaged))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"{packaged}: valid (sha256 ")

    broken = installed.workdir / "broken-policy.yaml"
    broken.write_text("apiVersion: netpol-guard.io/v1\nkind: Policy\nrules:\n"
                      "  NP001: {action: maybe}\n", encoding="utf-8")
    done = installed.run("netpol-guard", "policy", "validate", broken.name)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        "broken-policy.yaml:4: rules.NP001.action: 'maybe' is not one of "
        "['deny', 'warn', 'audit', 'off']"]

    schema = installed.run("netpol-guard", "policy", "schema")
    assert schema.returncode == 0 and json.loads(schema.stdout)["type"] == "object"


def test_check_on_the_examples_as_documented(installed: InstalledPackage) -> None:
    import shutil

    shutil.copytree(REPO / "examples", installed.workdir / "examples", dirs_exist_ok=True)
    good = installed.run("netpol-guard", "check", "-f", "examples/good")
    assert (good.returncode, good.stdout) == (0, "No findings: 5 objects in 4 files checked.\n")

    bad = installed.run("netpol-guard", "check", "-f", "examples/allow-all", "-o", "json")
    assert bad.returncode == 1, bad.stderr
    report = json.loads(bad.stdout)
    found = sorted((f["rule"], f["action"], f["kind"]) for f in report["findings"])
    assert found == [("DD001", "deny", "Namespace"), ("NP001", "deny", "NetworkPolicy"),
                     ("NP008", "deny", "NetworkPolicy"), ("NP012", "warn", "NetworkPolicy")]


def test_audit_connectivity_and_diff_on_the_examples(installed: InstalledPackage) -> None:
    import shutil

    shutil.copytree(REPO / "examples", installed.workdir / "examples", dirs_exist_ok=True)
    reach = installed.run("netpol-guard", "connectivity", "-f", "examples/good")
    assert reach.returncode == 0, reach.stderr
    assert "team-good/api[Deployment] => " in reach.stdout
    diff = installed.run("netpol-guard", "diff", "examples/allow-all", "examples/good",
                         "-o", "json")
    assert diff.returncode == 0, diff.stderr
    assert json.loads(diff.stdout)
    audit = installed.run("netpol-guard", "audit", "--inventory", "examples/allow-all",
                          "-o", "json")
    assert audit.returncode == 1, audit.stderr  # deny-level findings
    report = json.loads(audit.stdout)
    assert [n["rule"] for n in report["namespaces"]] == ["DD001"]
    assert {f["rule"] for f in report["findings"]} == {"NP001", "NP008", "NP012"}


def test_certs_then_serve_answers_reviews_over_tls_and_stops_cleanly_on_sigterm(
        installed: InstalledPackage) -> None:
    certs = installed.workdir / "certs"
    made = installed.run("netpol-guard", "certs", "--out", str(certs))
    assert made.returncode == 0, made.stderr
    assert {p.name for p in certs.iterdir()} >= {"ca.crt", "tls.crt", "tls.key"}

    port = free_port()
    log_path = installed.workdir / "serve.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [installed.command("netpol-guard"), "serve", "--bind", f"127.0.0.1:{port}",
             "--cert", str(certs / "tls.crt"), "--key", str(certs / "tls.key")],
            cwd=installed.workdir, env=installed.env, stdout=log, stderr=subprocess.STDOUT)
        try:
            context = ssl.create_default_context(cafile=str(certs / "ca.crt"))
            _wait_ready(port, context, server, log_path)
            denied = _review(port, context, "networkpolicy-create-allow-all-ingress")
            assert denied["allowed"] is False
            assert denied["status"]["code"] == 403
            message = denied["status"]["message"]
            assert "NP001 allow-all-sources" in message and "NP008 all-ports" in message
            allowed = _review(port, context, "namespace-create")
            assert allowed["allowed"] is True
            assert any(w.startswith("DD001 missing-default-deny") for w in allowed["warnings"])
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                code = server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                raise
    text = log_path.read_text(encoding="utf-8", errors="replace")
    assert code == 0, text
    assert "Traceback" not in text and "[ERROR]" not in text, text
    assert "Shutting down: Master" in text


def _wait_ready(port: int, context: ssl.SSLContext, server: subprocess.Popen[bytes],
                log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"serve exited {server.returncode}:\n{log_path.read_text()}")
        try:
            status, _ = _request(port, context, "GET", "/readyz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"serve never became ready:\n{log_path.read_text()}")


def _review(port: int, context: ssl.SSLContext, fixture: str) -> dict[str, Any]:
    body = (ADMISSION_FIXTURES / f"{fixture}.json").read_bytes()
    status, answer = _request(port, context, "POST", "/validate", body)
    assert status == 200, answer
    review = json.loads(answer)
    assert review["kind"] == "AdmissionReview"
    assert review["response"]["uid"] == json.loads(body)["request"]["uid"]
    return dict(review["response"])


def _request(port: int, context: ssl.SSLContext, method: str, path: str,
             body: bytes | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    try:
        connection.request(method, path, body=body,
                           headers={"Content-Type": "application/json", "Connection": "close"})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def test_connectivity_pictures_come_with_the_wheel(installed: InstalledPackage) -> None:
    import shutil
    import zipfile

    package = "webhook/cli/connectivity_graph/"
    vendor = Path(REPO / package / "vendor")
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    shipped = {package + "page.html", package + "page.js"} | {
        f"{package}vendor/{f.name}" for f in vendor.iterdir()}
    assert any(n.endswith(".js") for n in shipped) and shipped <= names, shipped - names

    cases = REPO / "tests" / "fixtures" / "connectivity" / "cases"
    shutil.copytree(cases / "onlineboutique", installed.workdir / "onlineboutique",
                    dirs_exist_ok=True)
    done = installed.run("netpol-guard", "connectivity", "-f", "onlineboutique", "-o", "html")
    assert done.returncode == 0, done.stderr
    cytoscape = (vendor / "cytoscape.min.js").read_text(encoding="utf-8")
    assert cytoscape in done.stdout and "default/frontend-99684f7f8[ReplicaSet]" in done.stdout
    done = installed.run("netpol-guard", "connectivity", "-f", "onlineboutique", "-o", "dot")
    assert done.returncode == 0 and done.stdout.startswith("digraph connectivity {"), done.stderr
