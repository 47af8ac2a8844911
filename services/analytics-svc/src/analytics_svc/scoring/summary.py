"""Members' purchase histories as the BG/NBD and Gamma-Gamma models take them: the standard per-day summary,
as `lifetimes`' summary_data_from_transaction_data(freq="D", observation_period_end=the day scored) makes it
from a transaction log, here from the facts ingestion keeps (ingestion.purchases).

Days are the reporting zone's. For a member who paid at least once:
- frequency: the distinct days they paid on, less the first (two orders on one day are one purchase);
- recency: days from the first of those days to the last;
- T: days from the first of those days to the day scored;
- monetary_value: the mean of what each of those days after the first came to (0 without one).
"""

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
EPOCH_DAY = date(1970, 1, 1).toordinal()


@dataclass(frozen=True)
class Summary:
    """One element per member; frequency, recency and T are NaN for members who never paid."""

    bought: npt.NDArray[np.bool_]
    frequency: Floats
    recency: Floats
    T: Floats
    monetary_value: Floats

    @classmethod
    def of(
        cls,
        *,
        purchase_days: Floats,
        first_day: Floats,
        last_day: Floats,
        spend_fen: Floats,
        first_day_fen: Floats,
        today: int,
    ) -> "Summary":
        """From the facts: purchase days, the first and last of them (days since the epoch, NaN if none),
        what all of them and what the first came to, and the day scored (days since the epoch)."""
        bought = purchase_days > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            frequency = np.where(bought, purchase_days - 1, np.nan)
            recency = np.where(bought, last_day - first_day, np.nan)
            # A payment dated after the day scored (a clock ahead) is no reason for a negative age.
            age = np.where(bought, np.maximum(today - first_day, recency), np.nan)
            repeats = purchase_days - 1
            monetary = np.where(repeats > 0, (spend_fen - first_day_fen) / repeats, 0.0)
        return cls(bought, frequency, recency, age, monetary)

    def of_buyers(self) -> "Histories":
        """frequency, recency and T of the members who paid, as the models' functions take them."""
        return Histories(self.frequency[self.bought], self.recency[self.bought], self.T[self.bought])


@dataclass(frozen=True)
class Histories:
    frequency: Floats
    recency: Floats
    T: Floats


def day_number(day: date) -> int:
    """The day as days since 1970-01-01."""
    return day.toordinal() - EPOCH_DAY
