"""Bad input: a clear error with file and line, or a documented skip with a warning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from webhook.cli.main import main

POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\n  labels: {app: web}\n"
NP_HEAD = ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: np\n"
           "  namespace: shop\nspec:\n  podSelector: {}\n")


def run(capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str,
        name: str = "in.yaml") -> tuple[int, str, str]:
    path = tmp_path / name
    path.write_text(text)
    code = main(["connectivity", "-f", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("text", "where", "words"), [
    (POD + "  bad: [\n", ":8:", "invalid YAML"),
    (POD + "---\n" + NP_HEAD + "  ingress:\n  - from:\n    - podSelector:\n"
     "        matchExpressions:\n        - {key: app, operator: Like, values: [a]}\n",
     ":19:", 'operator: Invalid value: "Like": not a valid selector operator'),
    (POD + "---\n" + NP_HEAD + "  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/33}\n",
     ":17:", "spec.ingress[0].from[0].ipBlock.cidr: Invalid value"),
    (POD + "---\n" + NP_HEAD + "  policyTypes: [Sideways]\n", ":15:",
     'Unsupported value: "Sideways"'),
    ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels: [a, b]\n", ":5:",
     "metadata.labels must be a map of strings"),
])
def test_an_unreadable_or_rejected_object_is_an_error_with_file_and_line(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, where: str,
        words: str) -> None:
    code, out, err = run(capsys, tmp_path, text)
    assert (code, out) == (2, "")
    assert f"in.yaml{where}" in err and words in err
    assert "Traceback" not in err


def test_an_unknown_kind_is_skipped_with_a_warning(capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path) -> None:
    text = POD + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: shop}\n"
    code, out, err = run(capsys, tmp_path, text)
    assert code == 0 and "shop/web[Pod]" in out
    assert "in.yaml:8: ConfigMap 'cm' skipped" in err


def test_a_pod_without_namespace_is_in_default_and_without_labels_is_selectable_by_all(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = ("apiVersion: v1\nkind: Pod\nmetadata: {name: bare}\n---\n" + POD + "---\n"
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
            "metadata: {name: np, namespace: shop}\nspec:\n  podSelector: {}\n  ingress:\n"
            "  - from:\n    - namespaceSelector: {}\n      podSelector: {}\n")
    code, out, _ = run(capsys, tmp_path, text)
    assert code == 0
    assert "default/bare[Pod] => shop/web[Pod] : All Connections" in out


def test_a_file_without_kubernetes_objects_in_a_directory_is_skipped(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(POD)
    (tmp_path / "report.json").write_text('[{"src": "a"}]')
    code = main(["connectivity", "-f", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0 and "report.json:1" in err and "file skipped" in err
    # Named on the command line, it is an error.
    assert main(["connectivity", "-f", str(tmp_path / "report.json")]) == 2
    assert "expected a Kubernetes object" in capsys.readouterr().err


def test_a_missing_path_is_an_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["connectivity", "-f", str(tmp_path / "nope")]) == 2
    assert "no such file or directory" in capsys.readouterr().err


def test_an_invalid_policy_name_only_is_a_warning(capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:
    text = POD + "---\n" + NP_HEAD.replace("name: np", "name: Bad_Name")
    code, out, err = run(capsys, tmp_path, text)
    # The policy is applied all the same: it isolates web's ingress.
    assert code == 0
    assert out == "shop/web[Pod] => 0.0.0.0-255.255.255.255[External] : All Connections\n"
    assert 'The NetworkPolicy "Bad_Name" is invalid: metadata.name' in err


def test_a_rejected_policy_in_a_json_list_has_its_line(capsys: pytest.CaptureFixture[str],
                                                      tmp_path: Path) -> None:
    # JSON files are read without their node tree; the line is found when the error needs it.
    items = [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "a"}},
             {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": {"name": "np", "namespace": "a"},
              "spec": {"podSelector": {}, "policyTypes": ["Sideways"]}}]
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=1)
    code, _, err = run(capsys, tmp_path, text, name="list.json")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "Sideways" in t)
    assert code == 2 and f"list.json:{line}: " in err and 'Unsupported value: "Sideways"' in err


def _paths(obj: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found = [prefix]
    if isinstance(obj, dict):
        for key, value in obj.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            found += _paths(value, (*prefix, index))
    return found


def test_mangled_objects_are_refused_or_analysed_never_a_traceback() -> None:
    import copy
    import random

    from webhook.cli.connectivity_input import InputError, Sources, read_sources, to_input
    from webhook.connectivity import analyse
    from webhook.connectivity.document import to_document
    from webhook.connectivity.exposure import exposure
    from webhook.kube.manifests import SourceObject

    cases = Path(__file__).resolve().parent.parent / "fixtures" / "connectivity" / "cases"
    base = read_sources([str(cases / "onlineboutique_workloads"), str(cases / "ipblockstest")])
    rng = random.Random(18)
    values: list[object] = [None, 1, "x", [], {}, [1], {"a": 1}, True, -5, "http", [{"n": 3}]]
    analysed = refused = 0
    for _ in range(150):
        chosen = rng.choice(base.objects)
        obj = copy.deepcopy(chosen.obj)
        path = rng.choice([p for p in _paths(obj) if p])
        parent: Any = obj
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = rng.choice(values)
        sources = Sources()
        sources.objects = [o if o is not chosen else SourceObject(obj, o.source, o.line)
                           for o in base.objects]
        try:
            objects, _ = to_input(sources)
        except InputError:
            refused += 1
            continue
        result = analyse(objects)
        to_document(result, exposure(result))
        analysed += 1
    assert analysed > 50 and refused > 5
