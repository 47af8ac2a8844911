"""The plain records a batch reads and changes are the rows of their tables, column for column: a column
added to a model and not to its record would never be written back by ingestion."""

from dataclasses import fields

import pytest
from sqlalchemy import Table

from analytics_svc.ingestion.records import FACTS, MEMBERSHIPS, ORDERS, MemberRecord, MembershipRecord, OrderRecord

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("record", "table"), [(MemberRecord, FACTS), (MembershipRecord, MEMBERSHIPS), (OrderRecord, ORDERS)]
)
def test_a_record_has_every_column_of_its_table_in_order(record: type, table: Table) -> None:
    assert [f.name for f in fields(record)] == [c.name for c in table.columns]


def test_ingestion_applies_every_event_type_the_consumer_hands_it() -> None:
    # A type handed to ingestion with nothing to apply it would fail each of its events.
    from analytics_svc.handlers import MEASURED
    from analytics_svc.ingestion.apply import APPLY
    from qunyun_shared.events.catalogue import spec_for

    assert {spec_for(model).type for model in APPLY} == set(MEASURED)
