"""docs/api.md is the gateway's merged OpenAPI document as `make docs` renders it, so a route added, removed or
changed in any service shows in the reference or fails here."""

from pathlib import Path

import pytest

from gateway_svc import api_reference

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_the_api_reference_doc_is_current() -> None:
    assert (ROOT / "docs" / "api.md").read_text() == api_reference.render(), "run `make docs`"
