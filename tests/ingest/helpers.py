"""Hand-made input files for ingestion tests."""

from __future__ import annotations

from pathlib import Path

HEADER = (
    "relation_id,snapshot_date,age,segment,has_savings,has_payment,n_accounts,total_balance,"
    "app_installed,ib_logins_4w,optin_general,optin_investing,customer_since,is_investor"
)


def row(
    rid: object = 101,
    day: str = "2025-01-05",
    age: object = 30,
    segment: str = "mass",
    balance: object = 1500.5,
    app: str = "true",
    accounts: object = 2,
    logins: object = 10,
    since: str = "2020-01-01",
) -> str:
    return (
        f"{rid},{day},{age},{segment},true,true,{accounts},{balance},{app},{logins},"
        f"true,true,{since},false"
    )


def write_csv(path: Path, rows: list[str], *, header: str = HEADER, delimiter: str = ",") -> Path:
    lines = [header, *rows]
    if delimiter != ",":
        lines = [line.replace(",", delimiter) for line in lines]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
