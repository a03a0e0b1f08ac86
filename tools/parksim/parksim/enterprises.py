"""Believable enterprises for the simulated park: names, codes, contacts (no I/O)."""
from __future__ import annotations

import random
from dataclasses import dataclass

from parkos import credit_code

# Shanxi-style prefectures (administrative division codes) the reference park draws tenants from.
_DIVISIONS = ("140100", "140200", "140400", "140500", "140700", "141000")
_CITIES = ("Taiyuan", "Datong", "Changzhi", "Jincheng", "Jinzhong", "Linfen")
_TRADES = {
    "sec-digital-energy": ("Coal Mine Intelligence", "Coking Data", "New Energy Forecasting"),
    "sec-digital-manufacturing": ("Steel Vision", "Predictive Maintenance", "Smart Foundry"),
    "sec-industrial-internet": ("Industrial Identifier", "Equipment Cloud", "Plant Twin"),
    "sec-short-video-live-commerce": ("Live Commerce", "Short Video Studio", "Creator Network"),
    "sec-esports-games": ("E-sports Arena", "Game Analytics", "Esports Media"),
    "sec-virtual-humans": ("Virtual Human", "Digital Anchor", "Avatar Works"),
    "sec-ai-model-services": ("Industry Model", "Model Services", "Vision AI"),
    "sec-data-services": ("Data Exchange", "Data Governance", "Data Brokerage"),
    "sec-smart-logistics": ("Route Optimisation", "Freight Data", "Smart Warehouse"),
}
_DEFAULT_TRADES = ("Digital Technology", "Information Services", "Data Technology")


@dataclass(frozen=True)
class Enterprise:
    """What an administrator registers for one new tenant."""

    legal_name: str
    credit_code: str
    sub_park_id: str
    sector_id: str
    contact_name: str
    contact_email: str
    contact_phone: str
    description: str


def invent_enterprise(rng: random.Random, sub_park_ids: list[str], sector_ids: list[str]) -> Enterprise:
    """A new enterprise in a random sub-park and sector, with a valid unified social credit code."""
    place = rng.randrange(len(_DIVISIONS))
    sector_id = rng.choice(sector_ids)
    trade = rng.choice(_TRADES.get(sector_id, _DEFAULT_TRADES))
    serial = rng.randrange(1000, 9999)
    code = credit_code.compose(_DIVISIONS[place], "".join(rng.choice(credit_code.ALPHABET) for _ in range(8)))
    slug = trade.lower().replace(" ", "-").replace("-", "")[:12]
    return Enterprise(
        legal_name=f"{_CITIES[place]} {trade} Co., Ltd. {serial}",
        credit_code=code,
        sub_park_id=rng.choice(sub_park_ids),
        sector_id=sector_id,
        contact_name=rng.choice(("Wang Lei", "Li Na", "Zhang Wei", "Liu Yang", "Chen Jing", "Zhao Min")),
        contact_email=f"contact@{slug}{serial}.example.cn",
        contact_phone=f"+86 351 {rng.randrange(1000000, 9999999)}",
        description=f"{trade} for the park's {sector_id.removeprefix('sec-').replace('-', ' ')} sector",
    )


def monthly_revenue_minor(rng: random.Random) -> int:
    """A month's declared operating revenue in fen: most tenants small, a few large."""
    yuan = int(rng.lognormvariate(13.5, 1.0))  # median about 730 thousand yuan a month
    return yuan * 100
