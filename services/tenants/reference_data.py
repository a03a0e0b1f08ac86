"""The park's reference data as seeded at first start: the sub-parks and the sectors.

The reference park has one headquarters base and eight themed sub-parks, and tenants across
sixteen digital-economy sub-sectors. These are defaults: the store seeds them only where a
record does not exist yet, so a fee rate changed in the database survives restarts, and a
deployment may seed its own list from a JSON file (see `load_reference_data`).
"""

from __future__ import annotations

import json
from pathlib import Path

from services.tenants.domain import ReferenceData, Sector, SubPark

SUB_PARKS: tuple[SubPark, ...] = (
    SubPark("sp-hq", "Headquarters Base", "park administration, data exchange and shared platforms", 300, headquarters=True),
    SubPark("sp-energy", "Digital Energy Park", "coal, coking, power and new-energy industry models", 250),
    SubPark("sp-manufacturing", "Intelligent Manufacturing Park", "steel, equipment and predictive maintenance", 250),
    SubPark("sp-industrial-internet", "Industrial Internet Park", "identifier resolution and industrial platforms", 250),
    SubPark("sp-computing", "Computing Power Park", "GPU pools, clouds and scheduling", 200),
    SubPark("sp-ai", "AI Model Park", "vertical industry models and model services", 300),
    SubPark("sp-media", "Digital Creative Park", "short video, live commerce, e-sports and virtual humans", 350),
    SubPark("sp-data-services", "Data Services Park", "data labelling, governance, compliance and brokerage", 200),
    SubPark("sp-logistics", "Smart Logistics Park", "route optimisation and supply-chain data", 250),
)

SECTORS: tuple[Sector, ...] = (
    Sector("sec-digital-energy", "Digital energy"),
    Sector("sec-digital-manufacturing", "Digital manufacturing"),
    Sector("sec-industrial-internet", "Industrial internet"),
    Sector("sec-short-video-live-commerce", "Short video and live commerce"),
    Sector("sec-esports-games", "E-sports and games"),
    Sector("sec-virtual-humans", "Virtual humans"),
    Sector("sec-ai-model-services", "AI model services"),
    Sector("sec-data-services", "Data services"),
    Sector("sec-computing-services", "Computing and cloud services"),
    Sector("sec-data-labelling", "Data labelling"),
    Sector("sec-cybersecurity", "Cybersecurity"),
    Sector("sec-smart-logistics", "Smart logistics"),
    Sector("sec-fintech", "Financial technology"),
    Sector("sec-digital-healthcare", "Digital healthcare"),
    Sector("sec-smart-agriculture", "Smart agriculture"),
    Sector("sec-software-it", "Software and IT services"),
)


def default_reference_data() -> ReferenceData:
    """The seed list built into the service."""
    return ReferenceData(SUB_PARKS, SECTORS)


def load_reference_data(path: Path | None) -> ReferenceData:
    """The seed list from a JSON file ``{"sub_parks": [...], "sectors": [...]}``, or the default.

    Each sub-park is ``{"sub_park_id", "name", "theme", "trade_fee_bps", "headquarters"}``;
    each sector ``{"sector_id", "name"}``. The result is validated like any reference data.
    """
    if path is None:
        return default_reference_data()
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    sub_parks = tuple(SubPark(**item) for item in document["sub_parks"])
    sectors = tuple(Sector(**item) for item in document["sectors"])
    return ReferenceData(sub_parks, sectors)
