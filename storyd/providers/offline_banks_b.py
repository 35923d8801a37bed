from storyd.providers.offline_bank import Bank
BANKS_B: dict[str, Bank] = {}
