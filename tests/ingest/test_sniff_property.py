"""A property of the sniffer: whatever dialect a conversions export is written in, the settings
``inspect`` proposes read every row of it back, value for value, with nothing quarantined."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nextbest.ingest import CONVERSIONS, inspect_file, load_file
from nextbest.store import Store

#: (decimal, thousands, delimiters that go with them)
SEPARATORS = [
    (",", "", [";", "|", "\t"]),
    (",", ".", [";", "|", "\t"]),
    (",", " ", [";", "|"]),
    (".", "", [",", ";", "|", "\t"]),
    (".", ",", [";", "|", "\t"]),
]
YES_NO = [("J", "N"), ("ja", "nee"), ("Y", "N"), ("waar", "onwaar")]
DATE_FORMATS = ["%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y%m%d"]


def _number(cents: int, decimal: str, thousands: str) -> str:
    whole, frac = divmod(cents, 100)
    text = f"{whole:,}".replace(",", thousands)
    return f"{text}{decimal}{frac:02d}"


@st.composite
def exports(draw: st.DrawFn) -> dict[str, Any]:
    decimal, thousands, delimiters = draw(st.sampled_from(SEPARATORS))
    n = draw(st.integers(min_value=2, max_value=12))
    return {
        "decimal": decimal,
        "thousands": thousands,
        "delimiter": draw(st.sampled_from(delimiters)),
        "date_format": draw(st.sampled_from(DATE_FORMATS)),
        "encoding": draw(st.sampled_from(["utf-8", "latin-1"])),
        # one amount of at least 1,000 so that a thousands separator is written
        "cents": [
            draw(st.integers(100_000, 10**9)),
            *draw(st.lists(st.integers(0, 10**9), min_size=n - 1, max_size=n - 1)),
        ],
        "marker": draw(st.sampled_from(["", "NULL", "-"])),
        "missing": draw(st.lists(st.integers(1, n - 1), max_size=3, unique=True)),
        "yes_no": draw(
            st.sampled_from([("J", "N"), ("ja", "nee"), ("Y", "N"), ("waar", "onwaar")])
        ),
        "dates": draw(
            st.lists(st.dates(dt.date(2000, 1, 1), dt.date(2024, 12, 31)), min_size=n, max_size=n)
        ),
    }


@settings(max_examples=12, deadline=None)
@given(exports())
def test_the_proposed_settings_read_any_dialect_back(export: dict[str, Any]) -> None:
    """Separators, delimiter, date format, encoding, null marker and yes/no texts are
    detected, and loading the file with the proposal gives back each amount and date as
    written."""
    decimal, thousands = export["decimal"], export["thousands"]
    delimiter, date_format, marker = export["delimiter"], export["date_format"], export["marker"]
    yes, no = export["yes_no"]
    amounts: list[float | None] = [
        None if i in export["missing"] else c / 100 for i, c in enumerate(export["cents"])
    ]
    texts = [
        marker if a is None else _number(c, decimal, thousands)
        for a, c in zip(amounts, export["cents"], strict=True)
    ]
    lines = [delimiter.join(["KLANT_ID", "STARTDATUM", "BEDRAG", "OMSCHRIJVING", "ACTIEF"])]
    lines += [
        delimiter.join([str(i), d.strftime(date_format), t, "Café", yes if i % 2 else no])
        for i, (t, d) in enumerate(zip(texts, export["dates"], strict=True), start=1)
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "conv.csv"
        path.write_bytes(("\n".join(lines) + "\n").encode(export["encoding"]))
        result = inspect_file(path)
        d = result.dialect
        assert (d.delimiter, d.decimal, d.thousands) == (delimiter, decimal, thousands)
        assert d.encoding == export["encoding"]
        assert result.source.date_format == (None if date_format == "%Y-%m-%d" else date_format)
        assert d.null_values == (() if marker == "" or not export["missing"] else (marker,))
        assert (d.true_values, d.false_values) == ((yes,), (no,))
        assert result.preview.rows_quarantined == 0
        with Store(":memory:") as store:
            report = load_file(store, CONVERSIONS, path, result.source, setting="[s]")
            got = store.fetchall(
                "SELECT relation_id, conversion_date, amount FROM conversions ORDER BY relation_id"
            )
    assert report.rows_quarantined == 0
    assert got == [
        (i, d, a) for i, (a, d) in enumerate(zip(amounts, export["dates"], strict=True), start=1)
    ]
