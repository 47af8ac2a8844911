"""Which failures mean "retry later" and which mean "this event is poison"."""

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from qunyun_shared.inbox import is_infrastructure_failure

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "error",
    [OperationalError("SELECT 1", {}, ConnectionResetError()), ConnectionRefusedError(), TimeoutError()],
)
def test_a_database_or_network_failure_is_retried_not_dead_lettered(error: Exception) -> None:
    assert is_infrastructure_failure(error)


@pytest.mark.parametrize("error", [IntegrityError("INSERT", {}, ValueError()), ValueError(), KeyError("x")])
def test_a_failure_caused_by_the_event_counts_towards_dead_lettering(error: Exception) -> None:
    assert not is_infrastructure_failure(error)
