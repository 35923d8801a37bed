"""All word banks of the offline storyteller, by theme id."""

from __future__ import annotations

from storyd.providers.offline_bank import Bank
from storyd.providers.offline_banks_a import BANKS_A
from storyd.providers.offline_banks_b import BANKS_B

BANKS: dict[str, Bank] = {**BANKS_A, **BANKS_B}
