"""Reading manifests: documents, List kinds, JSON, line numbers of JSON paths, safe YAML."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from webhook.kube.manifests import ManifestError, load_paths, load_text, parse_path

MULTI = """\
# leading comment
apiVersion: v1
kind: Namespace
metadata:
  name: team-a
---
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web
  namespace: team-a
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: web
  ingress:
    - from:
        - podSelector: {}
      ports:
        - port: 80
"""


def test_documents_start_lines_and_paths() -> None:
    namespace, policy = load_text(MULTI, "m.yaml")
    assert (namespace.kind, namespace.name, namespace.line) == ("Namespace", "team-a", 2)
    assert (policy.kind, policy.namespace, policy.line) == ("NetworkPolicy", "team-a", 8)
    assert policy.line_of("spec.ingress[0]") == 18
    assert policy.line_of("spec.ingress[0].from[0].podSelector") == 19
    assert policy.line_of("spec.ingress[0].ports[0].port") == 21
    # A defaulted field that is not in the file: its closest ancestor.
    assert policy.line_of("spec.ingress[0].ports[0].protocol") == 21
    assert policy.line_of("spec.policyTypes") == 13
    assert policy.line_of('spec.podSelector.matchLabels["app.kubernetes.io/name"]') == 16


def test_parse_path() -> None:
    assert parse_path('spec.ingress[0].from[12].podSelector.matchLabels["a.b/c"]') == [
        "spec", "ingress", 0, "from", 12, "podSelector", "matchLabels", "a.b/c"]


def test_list_items_are_objects_with_their_own_lines() -> None:
    text = """\
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Namespace
    metadata: {name: a}
  - apiVersion: v1
    kind: Namespace
    metadata: {name: b}
"""
    objects = load_text(text, "list.yaml")
    assert [(o.name, o.line) for o in objects] == [("a", 4), ("b", 7)]


def test_json_files_keep_lines() -> None:
    text = '{\n  "apiVersion": "v1",\n  "kind": "Namespace",\n  "metadata": {\n' \
           '    "name": "a"\n  }\n}\n'
    [obj] = load_text(text, "ns.json", json_file=True)
    assert obj.line == 1 and obj.line_of("metadata.name") == 5


@pytest.mark.parametrize(("text", "line", "message"), [
    pytest.param("a: 1\na: 2\n", 2, "duplicate key 'a'", id="duplicate-key"),
    pytest.param("a: &x 1\nb: *x\n", 1, "YAML anchors are not allowed", id="anchor"),
    pytest.param("a: !!python/object:os.system 1\n", 1, "could not determine a constructor",
                 id="python-tag"),
    pytest.param("kind: Namespace\nmetadata: {name: a}\n", 1, "object has no apiVersion",
                 id="no-api-version"),
    pytest.param("- a\n- b\n", 1, "expected a Kubernetes object (a mapping), found a list",
                 id="not-a-mapping"),
    pytest.param("a: [1,\n", 2, "invalid YAML", id="unclosed-flow"),
    pytest.param("a: 1\nb: \"x\x01\"\n", 2,
                 "invalid YAML: unacceptable character #x0001 (special characters are not allowed)",
                 id="control-character"),
    pytest.param("a:\n" + "  - " * 64 + "x\n", 2, "nesting deeper than 64 levels", id="too-deep"),
    pytest.param("a: 1\n<<: {b: 2}\n", 2, "YAML merge keys (<<) are not allowed", id="merge-key"),
    pytest.param("a: *x\n", 1, "YAML aliases are not allowed (found alias *x)", id="alias"),
])
def test_refused_input_names_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ManifestError) as caught:
        load_text(text, "bad.yaml")
    assert caught.value.line == line
    assert message in caught.value.message
    assert str(caught.value).startswith(f"bad.yaml:{line}: ")


def test_json_duplicate_keys_are_refused() -> None:
    with pytest.raises(ManifestError, match="duplicate key 'kind'"):
        load_text('{"kind": "A", "kind": "B"}', "x.json", json_file=True)


def test_directories_are_read_recursively_in_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "ns.yml").write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n"
                                           "  name: b\n")
    (tmp_path / "a.json").write_text('{"apiVersion": "v1", "kind": "Namespace", '
                                     '"metadata": {"name": "a"}}')
    (tmp_path / "notes.txt").write_text("not a manifest")
    objects = load_paths([str(tmp_path)])
    assert [o.name for o in objects] == ["a", "b"]


def test_stdin_yaml_and_empty_documents() -> None:
    stdin = io.StringIO("---\n\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: s}\n")
    [obj] = load_paths(["-"], stdin=stdin)
    assert (obj.source, obj.line, obj.name) == ("<stdin>", 4, "s")


def test_dates_stay_strings_as_kubectl_reads_them() -> None:
    [obj] = load_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n"
                      "  annotations: {since: 2024-01-01}\n", "ns.yaml")
    assert obj.obj["metadata"]["annotations"] == {"since": "2024-01-01"}
