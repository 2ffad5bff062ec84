"""Guards before and after a weekly run, drift, market regime, and e-mail alerts."""

from nextbest.checks._alerts import halt_message, send_alert
from nextbest.checks._checks import (
    AGE_BANDS,
    LAST_AGE_BAND,
    VERDICTS,
    Check,
    age_band_sql,
    concentration,
    concentration_groups,
    contract,
    drift,
    freshness,
    market_regime,
    market_state,
    psi,
    row_count,
    volume,
    worst_verdict,
)

__all__ = [
    "AGE_BANDS",
    "LAST_AGE_BAND",
    "VERDICTS",
    "Check",
    "age_band_sql",
    "concentration",
    "concentration_groups",
    "contract",
    "drift",
    "freshness",
    "halt_message",
    "market_regime",
    "market_state",
    "psi",
    "row_count",
    "send_alert",
    "volume",
    "worst_verdict",
]
