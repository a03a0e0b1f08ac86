"""Believable data products for the simulated exchange (no I/O)."""
from __future__ import annotations

import random
from dataclasses import dataclass

_SUBJECTS = (
    "coal mine gas sensor readings", "coking furnace temperature series", "steel strip defect images",
    "wind farm power forecasts", "grid load profiles", "freight route travel times",
    "predictive maintenance vibration data", "live commerce conversion funnels",
    "e-sports match telemetry", "virtual anchor motion captures", "industrial equipment identifiers",
    "warehouse pick-path logs",
)
_FORMS = ("monthly dataset", "daily feed API", "labelled training set", "real-time query API")


@dataclass(frozen=True)
class ProductIdea:
    """What a seller lists."""

    title: str
    description: str
    price_minor: int
    api: bool
    classification_level: int
    personal_information: bool


def invent_product(rng: random.Random) -> ProductIdea:
    """A product with a price between 2,000 and 200,000 yuan; most are level 1-2, some sensitive."""
    subject, form = rng.choice(_SUBJECTS), rng.choice(_FORMS)
    level = rng.choices((1, 2, 3, 4), weights=(40, 35, 20, 5))[0]
    return ProductIdea(
        title=f"{subject.capitalize()}, {form}",
        description=f"{form.capitalize()} of {subject}, cleaned and documented by the seller.",
        price_minor=rng.randrange(2_000, 200_000) * 100,
        api="API" in form,
        classification_level=level,
        personal_information=rng.random() < 0.1,
    )
