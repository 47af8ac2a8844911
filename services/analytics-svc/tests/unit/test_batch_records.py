"""The plain records a batch reads and changes are the rows of their tables, column for column: a column
added to the model and not to its record would never be written back by ingestion."""

from dataclasses import fields

import pytest

from analytics_svc.batch_members import FACTS, MemberRecord

pytestmark = pytest.mark.unit


def test_a_member_record_has_every_column_of_member_facts() -> None:
    assert [f.name for f in fields(MemberRecord)] == [c.name for c in FACTS.columns]
