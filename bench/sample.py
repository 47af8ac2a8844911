"""Real `member.joined` events, as member-svc would stage them."""

import uuid
from datetime import UTC, datetime

from qunyun_shared.events import Envelope, new_event
from qunyun_shared.events.kafka_binding import KafkaRecord, to_kafka
from qunyun_shared.events.member import MemberJoinedV1


def member_joined(*, tenant_id: str, community_id: uuid.UUID | None = None) -> MemberJoinedV1:
    return MemberJoinedV1(
        member_id=uuid.uuid4(),
        community_id=community_id or uuid.uuid4(),
        channel="qr",
        joined_at=datetime.now(UTC),
    )


def member_joined_record(tenant_id: str) -> KafkaRecord:
    """One envelope on the wire: value plus CloudEvents headers, the size every benchmark message has."""
    envelope: Envelope = new_event(source="member-svc", tenant_id=tenant_id, payload=member_joined(tenant_id=tenant_id))
    return to_kafka(envelope)


def wire_size(record: KafkaRecord) -> int:
    return len(record.key) + len(record.value) + sum(len(k) + len(v) for k, v in record.headers)
