"""A flash sale's stock, spread over slot rows so that buyers at the same moment lock different rows.

On one row every buyer would queue behind the one before it until that one commits, the whole crowd
of buyers in flight waiting on it and woken at each commit. A buyer here takes its units from one slot
no other buyer holds (`FOR UPDATE SKIP LOCKED`). Only when no free slot has them does it wait: it locks
every slot with units left, in slot order, each once its holder has committed or rolled back, and
gathers the units from as many as it needs. So units a buyer rolls back are still sold, more than the
stock never is, and waiting buyers cannot deadlock: they lock in one order, holding no other slot.

The statements are built once: on a sale's hot path, building them cost more than running them.
"""

import uuid
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.flash_sales.models import CampaignStock

# More slots than buyers holding one at once (one per database connection of every replica, at most),
# yet few enough that summing a sale's stock stays cheap.
SLOTS = 128

_STOCK = cast(Table, CampaignStock.__table__)
_SALE = _STOCK.c.campaign_id == bindparam("sale")
_HAS_UNITS = _STOCK.c.total - _STOCK.c.sold >= bindparam("units")

_UNITS = select(func.sum(_STOCK.c.total), func.sum(_STOCK.c.sold)).where(_SALE)
_FREE_SLOT = (
    select(_STOCK.c.slot)
    .where(_SALE, _HAS_UNITS)
    .order_by(_STOCK.c.slot)
    .limit(1)
    .with_for_update(skip_locked=True)
    .scalar_subquery()
)
_TAKE_FREE = (
    update(_STOCK)
    .where(_SALE, _STOCK.c.slot == _FREE_SLOT, _HAS_UNITS)
    .values(sold=_STOCK.c.sold + bindparam("units"))
    .returning(_STOCK.c.slot)
)
_LOCK_LEFT = (
    select(_STOCK.c.slot, _STOCK.c.total - _STOCK.c.sold)
    .where(_SALE, _STOCK.c.sold < _STOCK.c.total)
    .order_by(_STOCK.c.slot)
    .with_for_update()
)
_LOCK_SOLD = (
    select(_STOCK.c.slot, _STOCK.c.sold).where(_SALE, _STOCK.c.sold > 0).order_by(_STOCK.c.slot).with_for_update()
)
_ADD_SOLD = (
    update(_STOCK)
    .where(_SALE, _STOCK.c.slot == bindparam("slot_number"))
    .values(sold=_STOCK.c.sold + bindparam("units"))
)


@dataclass(frozen=True)
class Units:
    campaign_id: uuid.UUID
    total: int
    sold: int

    @property
    def left(self) -> int:
        return self.total - self.sold


def slots(campaign_id: uuid.UUID, total: int, most_per_buyer: int) -> list[CampaignStock]:
    """`total` units spread evenly over the slots, each with at least `most_per_buyer` units when the
    stock allows, so that one slot can serve a buyer."""
    count = max(1, min(SLOTS, total // most_per_buyer))
    share, rest = divmod(total, count)
    return [
        CampaignStock(campaign_id=campaign_id, slot=slot, total=share + (slot < rest), sold=0) for slot in range(count)
    ]


async def units_of(*, session: AsyncSession, campaign_id: uuid.UUID) -> Units | None:
    """The sale's units and how many are sold; None for a campaign without stock."""
    total, sold = (await session.execute(_UNITS, {"sale": campaign_id})).one()
    return None if total is None else Units(campaign_id, int(total), int(sold))


async def take(*, session: AsyncSession, campaign_id: uuid.UUID, quantity: int) -> bool:
    """Takes `quantity` units, or nothing if fewer are left."""
    wanted = {"sale": campaign_id, "units": quantity}
    search = await session.begin_nested()
    if (await session.execute(_TAKE_FREE, wanted)).first() is not None:
        await search.commit()
        return True
    # Every slot with the units is held by a buyer still deciding, or none has them: wait for the slots
    # with units left. The search may have locked slots it then passed over (their units went meanwhile);
    # waiting while holding those could deadlock with another waiter, so they are let go first.
    await search.rollback()
    left: dict[int, int] = {slot: units for slot, units in await session.execute(_LOCK_LEFT, {"sale": campaign_id})}
    if sum(left.values()) < quantity:
        return False
    await _spread(session, campaign_id, left, quantity)
    return True


async def give_back(*, session: AsyncSession, campaign_id: uuid.UUID, quantity: int) -> bool:
    """Returns a cancelled order's units; False if the campaign has no stock (it is not a flash sale)."""
    sold: dict[int, int] = {slot: units for slot, units in await session.execute(_LOCK_SOLD, {"sale": campaign_id})}
    await _spread(session, campaign_id, sold, -quantity)
    return bool(sold)


async def _spread(session: AsyncSession, campaign_id: uuid.UUID, room: dict[int, int], units: int) -> None:
    """Adds `units` (taken, or given back if negative) to the slots' sold, in slot order, to each at
    most its `room`."""
    wanted = abs(units)
    for slot, most in room.items():
        step = min(most, wanted)
        await session.execute(
            _ADD_SOLD, {"sale": campaign_id, "slot_number": slot, "units": step if units > 0 else -step}
        )
        wanted -= step
        if wanted == 0:
            return
