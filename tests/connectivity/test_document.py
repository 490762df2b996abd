"""The fast JSON writer says exactly what the document says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from webhook.cli.connectivity_input import read_objects
from webhook.connectivity import analyse
from webhook.connectivity.document import document_json, to_document
from webhook.connectivity.exposure import exposure

CASES = Path(__file__).resolve().parent.parent / "fixtures" / "connectivity" / "cases"


@pytest.mark.parametrize("case", ["ipblockstest", "onlineboutique", "test_with_named_ports",
                                  "example_pods_w_same_owner_and_labels_gap_with_good_match_expression"])
def test_document_json_equals_the_document(case: str) -> None:
    objects, warnings = read_objects([str(CASES / case)])
    result = analyse(objects)
    result.warnings[:0] = warnings
    for exposed in (None, exposure(result)):
        text = document_json(result, exposed)
        assert json.loads(text) == to_document(result, exposed)
        assert text == json.dumps(to_document(result, exposed), separators=(",", ":"))
