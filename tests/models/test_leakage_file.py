"""The leakage hunt on an analyst's own file: read as ingest reads a source, with string targets,
text columns and month-name, date or integer periods — and one-line errors, never a traceback."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nextbest.cli import app
from nextbest.config import Config
from nextbest.errors import ConfigError, SourceFileError
from nextbest.models import LeakageSettings, too_good
from nextbest.pipeline import hunt_file

MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]


def _write(
    path: Path, rows: dict[str, list[object]], *, delimiter: str = ",", encoding: str = "utf-8"
) -> Path:
    names = list(rows)
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(names)
        writer.writerows(zip(*(rows[n] for n in names), strict=True))
    return path


def _campaign_file(path: Path, *, per_month: int = 250, seed: int = 0) -> tuple[Path, int]:
    """12 months of a yes/no target with a harmless segment, a weekly campaign code and a fund
    price that identify the month, noise numbers and a customer id; returns the converters."""
    rng = np.random.default_rng(seed)
    m = np.repeat(np.arange(12), per_month)
    n = len(m)
    converted = rng.random(n) < 0.12
    rows: dict[str, list[object]] = {
        "maand": [f"{MONTHS[i]} 2024" for i in m],
        "converted": ["yes" if c else "no" for c in converted],
        "segment": list(rng.choice(["retail", "private", "business"], size=n)),
        "campaign": [f"C24-{i + 1:02d}" for i in m],
        "fund_price": [round(100 + 2.5 * i + 0.1 * (i % 3), 2) for i in m],
        "income": list(np.round(rng.normal(3000, 800, size=n), 2)),
        "age": list(rng.integers(18, 90, size=n)),
        "customer": [f"K{k:06d}" for k in range(n)],
    }
    return _write(path, rows), int(converted.sum())


def test_yes_no_target_text_keys_and_month_names_through_the_cli(tmp_path: Path) -> None:
    """A yes/no target, a month-name time column and text columns: the CLI states the positive
    class, names the planted text and numeric keys (not the noise) and exits 1."""
    path, n_yes = _campaign_file(tmp_path / "campaign.csv")
    result = CliRunner().invoke(
        app, ["leakage", str(path), "--time-column", "maand", "--target", "converted"]
    )
    assert result.exit_code == 1, result.output
    out = " ".join(result.output.split())
    assert f"target converted: positive = 'yes' ({n_yes:,} of 3,000 rows)" in out
    assert "12 periods (month name and year, jan 2024 … dec 2024)" in out
    assert "left out: customer (too many distinct values (3,000))" in out
    assert "features: segment (text), campaign (text), fund_price, income, age" in out
    flagged = [
        line
        for line in result.output.splitlines()
        if line.strip().startswith(("critical", "warning"))
    ]
    assert [line.split(":")[0].strip() for line in flagged] == ["critical time_key"] * 2
    assert "'campaign' is the same for every customer on a date" in flagged[0]
    assert "'fund_price' is the same for every customer on a date" in flagged[1]
    for noise in ("segment", "income", "age", "customer"):
        assert f"'{noise}'" not in " ".join(flagged)


def _small(path: Path, time_values: list[str], **extra: list[object]) -> Path:
    """Two rows per period (yes and no), too few converters for the model fits to run."""
    rows: dict[str, list[object]] = {
        "period": [v for v in time_values for _ in range(2)],
        "converted": ["yes", "no"] * len(time_values),
    }
    rows.update({k: [x for x in v for _ in range(2)] for k, v in extra.items()})
    return _write(path, rows)


@pytest.mark.parametrize(
    ("values", "reading", "first", "last"),
    [
        (["dec 2024", "jan 2025", "feb 2025"], "month name and year", "dec 2024", "feb 2025"),
        (
            ["december 2024", "januari 2025", "maart 2025", "mei 2025"],
            "month name and year",
            "december 2024",
            "mei 2025",
        ),
        (
            ["March 2024", "mrt. 2025", "Okt-2025", "OCTOBER 2023"],
            "month name and year",
            "OCTOBER 2023",
            "Okt-2025",
        ),
        (["2024-W52", "2025-W1", "2025W02"], "ISO week", "2024-W52", "2025W02"),
        (["202412", "202501", "202502"], "integer period", "202412", "202502"),
        (["9", "10", "11"], "integer period", "9", "11"),
        (["2024-12-29", "2025-01-05", "2025-01-12"], "date", "2024-12-29", "2025-01-12"),
        (["29-12-2024", "05-01-2025", "12-01-2025"], "date", "29-12-2024", "12-01-2025"),
    ],
)
def test_periods_are_read_in_calendar_order(
    tmp_path: Path, values: list[str], reading: str, first: str, last: str
) -> None:
    """Month names (Dutch and English, full and short), integer periods and dates (ISO, or the
    sniffed dd-mm-yyyy) become periods in calendar order, not text order."""
    hunt = hunt_file(_small(tmp_path / "p.csv", values), time_column="period", target="converted")
    assert (hunt.periods.reading, hunt.periods.n_periods) == (reading, len(set(values)))
    assert (hunt.periods.first, hunt.periods.last) == (first, last)


def test_unreadable_periods_name_a_value_and_the_rows(tmp_path: Path) -> None:
    """A time column that is mostly month names but not all: one value, its row, the count."""
    path = _small(tmp_path / "p.csv", ["jan 2024", "feb 2024", "13e maand", "mar 2024"])
    with pytest.raises(
        SourceFileError,
        match=r"p.csv: time column 'period' holds '13e maand' \(data row 5\), which is not a "
        r"month name and year; 2 of 8 rows do not read",
    ):
        hunt_file(path, time_column="period", target="converted")
    empty = _write(tmp_path / "e.csv", {"period": ["jan 2024", ""], "converted": ["yes", "no"]})
    with pytest.raises(SourceFileError, match=r"is empty in 1 of 2 rows \(first: data row 2\)"):
        hunt_file(empty, time_column="period", target="converted")


def test_two_values_outside_the_vocabulary_need_positive(tmp_path: Path) -> None:
    """'converted'/'not' is refused until --positive says which; then it is the positive."""
    months = ["jan 2024", "feb 2024", "mar 2024"]
    path = _write(
        tmp_path / "t.csv",
        {"m": months * 3, "outcome": ["converted", "not", "not"] * 3, "x": list(range(9))},
    )
    with pytest.raises(
        SourceFileError,
        match=r"target 'outcome' has values 'not' and 'converted'; say which is positive with "
        r"--positive",
    ):
        hunt_file(path, time_column="m", target="outcome")
    hunt = hunt_file(path, time_column="m", target="outcome", positive="Converted")
    assert (hunt.target.positive, hunt.target.negative) == ("converted", "not")
    assert (hunt.target.n_positive, hunt.target.n_rows) == (3, 9)
    with pytest.raises(SourceFileError, match=r"--positive 'maybe' is not one of its values"):
        hunt_file(path, time_column="m", target="outcome", positive="maybe")


def test_more_than_two_target_values_are_named(tmp_path: Path) -> None:
    """A target with seven values is refused naming five of them, most frequent first."""
    values = ["a", "b", "c", "d", "e", "f", "g"]
    path = _write(tmp_path / "t.csv", {"m": ["jan 2024"] * 7, "y": values})
    with pytest.raises(
        SourceFileError,
        match=r"target 'y' has 7 values \('a', 'b', 'c', 'd', 'e', …\); it must have two",
    ):
        hunt_file(path, time_column="m", target="y")


def test_text_with_many_values_is_still_searched_for_time_keys(tmp_path: Path) -> None:
    """A weekly code with more values than --max-categories is left out of the fits, said so,
    and still found as a time key."""
    weeks = ["2025-01-05", "2025-01-12", "2025-01-19", "2025-01-26"]
    path = _small(tmp_path / "w.csv", weeks, code=["W01", "W02", "W03", "W04"], n=[1, 2, 3, 4])
    hunt = hunt_file(path, time_column="period", target="converted", max_categories=3)
    assert hunt.left_out == [("code", "too many distinct values (4)")]
    assert hunt.features == ["n"]
    critical = [f.features for f in hunt.findings if f.severity == "critical"]
    assert critical == [("code",), ("n",)]


def test_a_binary_file_gets_one_line(tmp_path: Path) -> None:
    """Random bytes named .csv: exit 2 and one line naming the file, not a traceback."""
    path = tmp_path / "export.csv"
    path.write_bytes(bytes(range(256)) * 40)
    result = CliRunner().invoke(app, ["leakage", str(path), "--time-column", "m", "--target", "y"])
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "export.csv" in lines[0]
    assert "error:" in lines[0] and "Traceback" not in result.output


DUTCH_SOURCE = """
[sources.snapshots]
path = "exports/*.csv"
delimiter = ";"
decimal = ","
thousands = "."
encoding = "latin-1"
date_format = "%d-%m-%Y"
"""


def _dutch_export(path: Path) -> Path:
    """A latin-1 export: dd-mm-yyyy dates, J/N target, 'Café' segment, a balance in decimal
    commas that is the same for everyone in a week (a planted key) and a noisy count."""
    weeks = ["29-12-2024", "05-01-2025", "12-01-2025", "19-01-2025"]
    saldo = ["1.234,56", "1.240,10", "987,25", "1.002,00"]
    rows: dict[str, list[object]] = {"REL_NR": [], "PEILDATUM": [], "APP_J_N": [], "SEGMENT": []}
    rows.update(SALDO=[], AANTAL=[])
    for w, (week, s) in enumerate(zip(weeks, saldo, strict=True)):
        for k in range(6):
            rows["REL_NR"].append(1000 + k)
            rows["PEILDATUM"].append(week)
            rows["APP_J_N"].append("J" if k == w % 6 else "N")
            rows["SEGMENT"].append("Café" if k % 2 else "Bar")
            rows["SALDO"].append(s)
            rows["AANTAL"].append((k * 7 + w) % 5)
    return _write(path, rows, delimiter=";", encoding="latin-1")


def test_a_configured_sources_dialect_reads_the_file(tmp_path: Path) -> None:
    """--source snapshots reads a latin-1 ';' export with decimal commas, dd-mm-yyyy and J/N:
    J is the positive (true_values), SALDO is a number and a time key; REL_NR is the customer."""
    (tmp_path / "nextbest.toml").write_text(DUTCH_SOURCE, encoding="utf-8")
    path = _dutch_export(tmp_path / "export.csv")
    args = ["leakage", str(path), "--time-column", "peildatum", "--target", "APP_J_N"]
    args += ["--source", "snapshots", "--id-column", "rel_nr"]
    result = CliRunner().invoke(app, ["--config", str(tmp_path / "nextbest.toml"), *args])
    assert result.exit_code == 1, result.output
    out = " ".join(result.output.split())
    assert "24 rows, 4 periods (date, 29-12-2024 … 19-01-2025); read as [sources.snapshots]" in out
    assert "target APP_J_N: positive = 'J' (4 of 24 rows), the other value 'N'" in out
    assert "features (folds over customers: REL_NR): SEGMENT (text), SALDO, AANTAL" in out
    assert "critical time_key: 'SALDO' is the same for every customer" in out


def test_without_a_source_the_sniffer_and_the_options_decide(tmp_path: Path) -> None:
    """Sniffed as UTF-8 the latin-1 export is refused in one line naming the file; with
    --encoding latin-1 its decimal commas are text, and the key is still found."""
    path = _dutch_export(tmp_path / "export.csv")
    with pytest.raises(SourceFileError, match=r"export.csv: it is not UTF-8: byte 0xe9 at line "):
        hunt_file(path, time_column="PEILDATUM", target="APP_J_N")
    hunt = hunt_file(
        path, time_column="PEILDATUM", target="APP_J_N", options={"encoding": "latin-1"}
    )
    assert hunt.read_as == "sniffed with --encoding"
    assert hunt.dialect is not None and hunt.dialect.delimiter == ";"
    assert hunt.text_features == ["SEGMENT", "SALDO"]
    critical = [f.features for f in hunt.findings if f.severity == "critical"]
    assert critical == [("SALDO",)]
    hunt = hunt_file(
        path,
        time_column="PEILDATUM",
        target="APP_J_N",
        options={"encoding": "latin-1", "decimal": ",", "thousands": "."},
    )
    assert hunt.text_features == ["SEGMENT"]


def test_wrong_options_and_sources_are_config_errors(tmp_path: Path) -> None:
    """A contradictory option, an unknown source and an unconfigured one each get one line."""
    path = _small(tmp_path / "p.csv", ["jan 2024", "feb 2024"])
    with pytest.raises(ConfigError, match=r"--decimal ',', --thousands ',': thousands and decimal"):
        hunt_file(
            path,
            time_column="period",
            target="converted",
            options={"decimal": ",", "thousands": ","},
        )
    with pytest.raises(
        ConfigError, match=r"--source 'snapshot' is not a source; Did you mean 'snapshots'"
    ):
        hunt_file(path, time_column="period", target="converted", source="snapshot")
    with pytest.raises(ConfigError, match=r"\[sources.market\] is not set"):
        hunt_file(path, time_column="period", target="converted", source="market", config=Config())


def test_a_text_column_is_too_good_by_its_values_rates() -> None:
    """Codes 0/1/2 where only code 1 converts: as a number it ranks converters at chance,
    as text (its values ranked by their rate) it separates them perfectly."""
    codes = np.tile([0.0, 1.0, 2.0], 20)
    y = (codes == 1).astype(np.int8)
    X = codes.reshape(-1, 1)
    assert too_good(X, y, ["status"], settings=LeakageSettings()) == []
    (finding,) = too_good(X, y, ["status"], settings=LeakageSettings(), categorical={"status"})
    assert finding.severity == "critical" and finding.figure == 1.0
    assert "'status' alone (ranking its values by their conversion rate) separates" in (
        finding.evidence
    )


def test_a_parquet_file_keeps_its_types(tmp_path: Path) -> None:
    """Parquet: a date time column, a boolean target (positive 'true'), a string segment and
    a weekly price keep their types; a 1.0/0.0 target reads as '1'/'0'."""
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    weeks = [dt.date(2025, 1, 5) + dt.timedelta(weeks=w) for w in range(4)]
    table = pa.table(
        {
            "week": [w for w in weeks for _ in range(3)],
            "bought": [True, False, False] * 4,
            "score": [1.0, 0.0, 0.0] * 4,
            "segment": ["a", "b", "c"] * 4,
            "price": [float(10 + i) for i in range(4) for _ in range(3)],
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")
    hunt = hunt_file(tmp_path / "t.parquet", time_column="week", target="bought")
    assert (hunt.periods.reading, hunt.periods.first, hunt.periods.last) == (
        "date",
        "2025-01-05",
        "2025-01-26",
    )
    assert (hunt.target.positive, hunt.target.n_positive, hunt.dialect) == ("true", 4, None)
    assert (hunt.features, hunt.text_features) == (["score", "segment", "price"], ["segment"])
    critical = [(f.check, f.features) for f in hunt.findings if f.severity == "critical"]
    # the target as a number, and a segment holding all the converters, are leaks
    assert critical == [
        ("time_key", ("price",)),
        ("too_good", ("score",)),
        ("too_good", ("segment",)),
    ]
    scored = hunt_file(tmp_path / "t.parquet", time_column="week", target="score")
    assert (scored.target.positive, scored.target.negative) == ("1", "0")


def test_one_column_cannot_play_two_roles(tmp_path: Path) -> None:
    """The target given as the customer column is refused before anything is fitted."""
    path = _small(tmp_path / "p.csv", ["jan 2024", "feb 2024"])
    with pytest.raises(SourceFileError, match=r"must be different columns"):
        hunt_file(path, time_column="period", target="converted", id_column="Converted")


def test_a_date_format_duckdb_cannot_parse_is_one_line(tmp_path: Path) -> None:
    """--date-format '%Q' stops with one line naming the option and the specifier."""
    path = _small(tmp_path / "p.csv", ["05-01-2024", "12-01-2024"])
    with pytest.raises(ConfigError, match=r"--date-format '%Q': .*'%Q', which is no date"):
        hunt_file(path, time_column="period", target="converted", options={"date_format": "%Q"})


def test_numbers_with_a_missing_value_code_say_so(tmp_path: Path) -> None:
    """An income column with 'n/a' in two rows is text with too many values; the reason names
    the code and how to read it as missing, and --null-values n/a makes it a number."""
    months = ["jan 2024", "feb 2024", "mar 2024"]
    income = ["1200.5", "n/a", "980", "1500", "n/a", "2100"]
    path = _small(tmp_path / "p.csv", months * 2, income=income)
    hunt = hunt_file(path, time_column="period", target="converted", max_categories=3)
    assert hunt.left_out == [
        (
            "income",
            "too many distinct values (5); 4 of its values are not numbers, e.g. 'n/a': add it "
            "to null_values, or check decimal and thousands",
        )
    ]
    options: dict[str, str | list[str]] = {"null_values": ["n/a"]}
    hunt = hunt_file(path, time_column="period", target="converted", options=options)
    assert (hunt.features, hunt.left_out, hunt.read_as) == (
        ["income"],
        [],
        "sniffed with --null-values",
    )


def test_a_model_above_the_ceiling_on_later_weeks_is_critical_in_a_file_hunt() -> None:
    """The file hunt applies the model's ROC-AUC ceiling to the model of its gap check, as
    training does for a trained model."""
    import pyarrow as pa

    from nextbest.models import Finding, LeakageSettings
    from nextbest.pipeline._hunt_file import _with_model_ceiling

    gap = Finding("random_vs_time_gap", "info", (), "…", "…", -0.4, model_auc=0.987)
    found = _with_model_ceiling([gap], pa.chunked_array([[0, 1, 0, 1]]), LeakageSettings())
    assert [(f.check, f.severity) for f in found] == [
        ("too_good", "critical"),
        ("random_vs_time_gap", "info"),
    ]
    assert "The model's ROC-AUC 0.987 is above the ceiling" in found[0].evidence
    quiet = Finding("random_vs_time_gap", "info", (), "…", "…", 0.0, model_auc=0.7)
    assert _with_model_ceiling([quiet], pa.chunked_array([[0, 1]]), None) == [quiet]


def test_too_few_periods_is_a_warning_not_a_clean_bill(tmp_path: Path) -> None:
    path = _small(tmp_path / "p.csv", ["jan 2024", "feb 2024"])
    hunt = hunt_file(path, time_column="period", target="converted")
    (gap,) = [f for f in hunt.findings if f.check == "random_vs_time_gap"]
    assert gap.severity == "warning" and gap.evidence.startswith("not run: the check needs")
