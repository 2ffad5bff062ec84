"""What every settings model shares, and the names the settings refer to."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

SENSITIVE_ATTRIBUTES: frozenset[str] = frozenset(
    {
        "gender",
        "sex",
        "postcode",
        "postcode_area",
        "zip",
        "zipcode",
        "name",
        "first_name",
        "last_name",
        "address",
        "street",
        "nationality",
        "ethnicity",
        "religion",
        "birth_place",
    }
)

#: The feature set used when the config does not name one.
DEFAULT_FEATURES: tuple[str, ...] = (
    "age",
    "balance",
    "balance_trend",
    "engagement",
    "tenure_years",
    "market_trend",
)

_IDENT = re.compile(r"^[a-z][a-z0-9_]*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
