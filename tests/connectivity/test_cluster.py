"""``connectivity --cluster`` and ``diff --cluster NEW`` against the Kubernetes API double."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.kubeapi_double import KubeAPIDouble, namespace, network_policy
from webhook.cli.main import main

CASES = Path(__file__).resolve().parent.parent / "fixtures" / "connectivity" / "cases"


def _pod(ns: str, name: str, app: str, phase: str = "Running") -> dict[str, Any]:
    return {"kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": ns, "labels": {"app": app}},
            "spec": {"containers": [{"name": "c", "image": "i",
                                     "ports": [{"name": "http", "containerPort": 8080}]}]},
            "status": {"phase": phase}}


def _fill(api: KubeAPIDouble) -> None:
    api.create(namespace("shop", {"kubernetes.io/metadata.name": "shop"}))
    api.create(_pod("shop", "web", "web"))
    api.create(_pod("shop", "db", "db"))
    api.create(_pod("shop", "done", "batch", phase="Succeeded"))
    api.create(network_policy("shop", "db", {
        "podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}],
                     "ports": [{"protocol": "TCP", "port": "http"}]}]}))


def test_the_live_cluster_is_analysed(double: KubeAPIDouble, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    _fill(double)
    kubeconfig = double.write_kubeconfig(tmp_path / "kubeconfig")
    code = main(["connectivity", "--cluster", "--kubeconfig", str(kubeconfig)])
    out = capsys.readouterr().out
    assert code == 0
    assert "shop/web[Pod] => shop/db[Pod] : TCP 8080" in out.splitlines()
    assert "shop/done" not in out  # a finished pod holds no address
    assert "=> shop/db[Pod] : All" not in out


def test_diff_cluster_new_shows_what_applying_would_do(double: KubeAPIDouble, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    _fill(double)
    kubeconfig = double.write_kubeconfig(tmp_path / "kubeconfig")
    new = tmp_path / "new.yaml"
    new.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {app: web}}\n"
        "---\napiVersion: v1\nkind: Pod\nmetadata: {name: db, namespace: shop, "
        "labels: {app: db}}\n")
    code = main(["diff", "--cluster", str(new), "--kubeconfig", str(kubeconfig),
                 "--fail-on", "changed"])
    out = capsys.readouterr().out
    assert code == 1
    assert ("diff-type: changed, source: shop/web[Pod], destination: shop/db[Pod], "
            "ref1: TCP 8080, ref2: All Connections") in out


def test_an_unreachable_cluster_is_a_one_line_error(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    api = KubeAPIDouble().start()
    kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
    api.stop()
    code = main(["connectivity", "--cluster", "--kubeconfig", str(kubeconfig)])
    err = capsys.readouterr().err
    assert code == 2 and "cluster state unavailable: cannot list namespaces" in err
    assert len(err.strip().splitlines()) == 1
