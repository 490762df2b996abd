"""The ``connectivity`` and ``diff`` commands, run through the CLI entry point."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from webhook.cli.main import main

CASES = Path(__file__).resolve().parent.parent / "fixtures" / "connectivity" / "cases"
DIFFS = CASES.parent / "diff"
BOUTIQUE = str(CASES / "onlineboutique_workloads")
OLD1 = CASES / "semanticDiff-same-topologies-old1"
NEW1A = CASES / "semanticDiff-same-topologies-new1a"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_txt_is_the_reference_line_format(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "connectivity", "-f", BOUTIQUE)
    assert code == 0
    expected = (CASES / "onlineboutique_workloads.connlist.txt").read_text().splitlines()
    assert out.splitlines() == sorted(expected)


def test_json_follows_the_document_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "connectivity", "-f", str(CASES / "ipblockstest"), "-o", "json")
    assert code == 0
    doc = json.loads(out)
    assert (doc["apiVersion"], doc["kind"]) == ("netpol-guard.io/v1", "ConnectivityReport")
    assert doc["exposure"] is None and doc["warnings"] == []
    ids = {w["id"] for w in doc["workloads"]} | {e["id"] for e in doc["externals"]}
    assert doc["namespaces"] == sorted({w["namespace"] for w in doc["workloads"]})
    assert [w["id"] for w in doc["workloads"]] == sorted(w["id"] for w in doc["workloads"])
    for connection in doc["connections"]:
        assert connection["src"] in ids and connection["dst"] in ids
        assert set(connection["protocols"]) == {"TCP", "UDP", "SCTP"}
        assert connection["all"] == (connection["conns"] == "All Connections")
    world = next(e for e in doc["externals"] if e["start"] == "0.0.0.0"
                 and e["end"] == "255.255.255.255")
    assert world["cidrs"] == ["0.0.0.0/0"]
    udp = next(c for c in doc["connections"] if c["conns"] == "UDP 53")
    assert udp["protocols"] == {"TCP": [], "UDP": [[53, 53]], "SCTP": []}


def test_csv_and_md_hold_the_same_connections(capsys: pytest.CaptureFixture[str]) -> None:
    _, txt, _ = run(capsys, "connectivity", "-f", BOUTIQUE)
    _, out_csv, _ = run(capsys, "connectivity", "-f", BOUTIQUE, "-o", "csv")
    _, out_md, _ = run(capsys, "connectivity", "-f", BOUTIQUE, "-o", "md")
    rows = list(csv.reader(io.StringIO(out_csv)))
    assert rows[0] == ["src", "dst", "conns"]
    assert sorted(f"{s} => {d} : {c}" for s, d, c in rows[1:]) == txt.splitlines()
    assert len(out_md.splitlines()) == len(txt.splitlines()) + 2


def test_stdin_is_read_with_dash(capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    text = "\n---\n".join(p.read_text() for p in sorted(Path(BOUTIQUE).glob("*.yaml")))
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    _, out, _ = run(capsys, "connectivity", "-f", "-")
    _, expected, _ = run(capsys, "connectivity", "-f", BOUTIQUE)
    assert out == expected


def test_namespace_and_focus_narrow_the_output(capsys: pytest.CaptureFixture[str]) -> None:
    case = str(CASES / "core_pods_without_host_ip")
    _, out, _ = run(capsys, "connectivity", "-f", case, "--namespace", "kube-system")
    assert out and all("kube-system/" in line for line in out.splitlines())
    _, out, _ = run(capsys, "connectivity", "-f", BOUTIQUE, "--focus", "default/frontend")
    assert out and all("default/frontend[Deployment]" in line for line in out.splitlines())


@pytest.mark.parametrize(("args", "message"), [
    (["--focus", "default/nope"], "--focus default/nope is not a workload"),
    (["--namespace", "nope"], "--namespace nope: no workload in that namespace"),
    (["--cluster"], "-f and --cluster exclude each other"),
    (["--kubeconfig", "k"], "--kubeconfig and --context need --cluster"),
    (["--exposure", "-o", "csv"], "--exposure has no csv form"),
])
def test_conflicting_or_ineffective_flags_are_one_line_errors(
        capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, out, err = run(capsys, "connectivity", "-f", BOUTIQUE, *args)
    assert (code, out) == (2, "")
    assert message in err and len(err.strip().splitlines()) == 1


def test_nothing_to_analyse_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "connectivity")
    assert code == 2 and "give -f PATH" in err


def test_exposure_lists_workloads_open_to_the_outside(capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    code, out, _ = run(capsys, "connectivity", "-f", BOUTIQUE, "--exposure", "-o", "json")
    exposure = json.loads(out)["exposure"]
    assert code == 0
    # redis-cart is the one workload no policy selects (the reference agrees)
    assert exposure["fromOutside"] == ["default/redis-cart[Deployment]"]
    assert exposure["toWholeWorld"] == ["default/redis-cart[Deployment]"]
    assert exposure["fromAnyPod"] == [] and exposure["fromAllNamespaces"] == []


@pytest.mark.parametrize("name", sorted(p.name for p in DIFFS.glob("*.txt")))
def test_diff_txt_is_the_reference_diff(capsys: pytest.CaptureFixture[str], name: str) -> None:
    new, old = name.removeprefix("diff_between_").removesuffix(".txt").split("_and_")
    code, out, _ = run(capsys, "diff", str(CASES / old), str(CASES / new))
    assert code == 0
    assert out == (DIFFS / name).read_text().rstrip("\n") + "\n"


@pytest.mark.parametrize(("fail_on", "code"), [("removed", 1), ("changed", 1), ("added", 0),
                                               ("any", 1)])
def test_fail_on_exits_1_only_for_that_change(capsys: pytest.CaptureFixture[str], fail_on: str,
                                              code: int) -> None:
    old, new = OLD1, NEW1A
    assert run(capsys, "diff", str(old), str(new), "--fail-on", fail_on)[0] == code


def test_no_change_passes_every_fail_on(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "diff", BOUTIQUE, BOUTIQUE, "--fail-on", "any", "-o", "md")
    assert code == 0 and "No change" in out


def test_diff_json_and_csv(capsys: pytest.CaptureFixture[str]) -> None:
    old, new = OLD1, NEW1A
    _, out, _ = run(capsys, "diff", str(old), str(new), "-o", "json")
    changes = json.loads(out)["changes"]
    assert {c["type"] for c in changes} == {"changed", "removed"}
    _, out, _ = run(capsys, "diff", str(old), str(new), "-o", "csv")
    assert out.splitlines()[0].startswith("diff-type,source,destination,ref1,ref2")
    assert len(out.splitlines()) == 1 + len(changes)


def test_a_workload_on_one_side_only_is_named(capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    old = tmp_path / "old.yaml"
    old.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\n")
    new = tmp_path / "new.yaml"
    new.write_text(old.read_text() + "---\napiVersion: v1\nkind: Pod\n"
                   "metadata: {name: b, namespace: x}\n")
    _, out, _ = run(capsys, "diff", str(old), str(new))
    assert ("diff-type: added, source: x/a[Pod], destination: x/b[Pod], ref1: No Connections, "
            "ref2: All Connections, workloads-diff-info: workload x/b[Pod] added") in out


@pytest.mark.parametrize(("args", "message"), [
    (["a"], "give OLD and NEW"),
    (["--cluster", "a", "b"], "with --cluster give only NEW"),
    (["a", "b", "--context", "c"], "--kubeconfig and --context need --cluster"),
])
def test_diff_usage_errors(capsys: pytest.CaptureFixture[str], args: list[str],
                           message: str) -> None:
    code, _, err = run(capsys, "diff", *args)
    assert code == 2 and message in err


def test_pictures_are_offered_exactly_when_their_renderer_is_installed(
        capsys: pytest.CaptureFixture[str]) -> None:
    from webhook.cli.connectivity import graph_available

    if not graph_available():
        with pytest.raises(SystemExit) as exit_info:
            main(["connectivity", "-f", BOUTIQUE, "-o", "dot"])
        assert exit_info.value.code == 2
        assert "invalid choice: 'dot'" in capsys.readouterr().err
        return
    code, out, _ = run(capsys, "connectivity", "-f", BOUTIQUE, "-o", "dot")
    assert code == 0 and out.lstrip().startswith(("digraph", "strict digraph"))
    assert "default/frontend[Deployment]" in out
    code, out, _ = run(capsys, "connectivity", "-f", BOUTIQUE, "-o", "html")
    assert code == 0 and "<html" in out.lower() and "default/redis-cart[Deployment]" in out
    code, out, _ = run(capsys, "connectivity", "-f", BOUTIQUE, "-o", "html", "--exposure")
    assert code == 0 and '"fromOutside":[' in out  # the page lists and marks the exposure
    for picture in ("dot", "svg"):
        code, _, err = run(capsys, "connectivity", "-f", BOUTIQUE, "-o", picture, "--exposure")
        assert code == 2 and f"--exposure has no {picture} form" in err


def test_diff_reads_new_from_stdin(capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from webhook.cli.connectivity_input import read_sources

    items = [o.obj for o in read_sources([str(NEW1A)]).objects]
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(
        {"apiVersion": "v1", "kind": "List", "items": items})))
    code, out, _ = run(capsys, "diff", str(OLD1), "-")
    _, expected, _ = run(capsys, "diff", str(OLD1), str(NEW1A))
    assert code == 0 and out == expected and "diff-type: removed" in out
