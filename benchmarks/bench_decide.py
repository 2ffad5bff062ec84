"""Real-time decision latency: POST /v1/decide on loopback against the in-process floor.

Usage (after ``benchmarks/bench_weekly.py``, which leaves a 1M-customer store with a champion
in ``bench-out/weekly.duckdb``)::

    .venv/bin/python benchmarks/bench_decide.py [--store bench-out/weekly.duckdb] [--n 300]

Starts ``nextbest serve`` (uvicorn) in a second process on 127.0.0.1, sends ``--n`` requests one
after another and then with 8 concurrent clients, and prints p50/p99 latency and throughput,
next to the in-process floor: the same feature look-up and scoring called directly. Loopback
only; bounded in count. Synthetic bank only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests._serve
from tests._serve import serve_in_background

from nextbest.api import hash_token, new_token
from nextbest.api._serving import ServingCache
from nextbest.config import config_from_mapping
from nextbest.features import loaded_snapshot_dates
from nextbest.models import champion_version, load_model
from nextbest.store import Store


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path("bench-out/weekly.duckdb"))
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args(argv)
    cfg_data = {
        "store": {"path": str(args.store.resolve())},
        "actions": [{"name": "invest-onboarding", "threshold": 0.02, "max_weekly": 20000}],
    }
    cfg = config_from_mapping(cfg_data)
    with Store(args.store) as store:
        day = loaded_snapshot_dates(store)[-1]
        ids = [
            r[0]
            for r in store.fetchall(
                "SELECT relation_id FROM snapshots WHERE snapshot_date = ? USING SAMPLE 400 ROWS",
                [day],
            )
        ]
        model = load_model(store, champion_version(store, "invest-onboarding").version)
    serving = ServingCache(cfg, max_age=3600)
    t = time.perf_counter()
    serving.refresh(force=True)
    load = time.perf_counter() - t
    floor = []
    for i in range(1000):
        t = time.perf_counter()
        serving.decide(action=None, relation_id=ids[i % len(ids)], features=None)
        floor.append(time.perf_counter() - t)
    x = serving.actions["invest-onboarding"].X[:1]
    score_only = []
    for _ in range(1000):
        t = time.perf_counter()
        model.score(x)
        score_only.append(time.perf_counter() - t)
    print(
        f"in-process floor (memory look-up, score, reason codes): p50 {_pct(floor, 50):.2f} ms, "
        f"p99 {_pct(floor, 99):.2f} ms; scoring alone p50 {_pct(score_only, 50) * 1000:.0f} µs; "
        f"loading the week into memory {load:.1f} s"
    )
    token = new_token()
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "nextbest.toml"
        conf.write_text(
            f'[store]\npath = "{args.store.resolve()}"\n'
            '[[actions]]\nname = "invest-onboarding"\nthreshold = 0.02\n'
            "max_weekly = 20000\n"
        )
        tokens = f"bench:viewer:{hash_token(token)}"
        with serve_in_background(conf, api_tokens=tokens) as url:
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
                lat = []
                t0 = time.perf_counter()
                for i in range(args.n):
                    t = time.perf_counter()
                    r = client.post("/v1/decide", json={"relation_id": ids[i % len(ids)]})
                    lat.append(time.perf_counter() - t)
                    assert r.status_code == 200, r.text
                seq = time.perf_counter() - t0

            def worker(k: int) -> list[float]:
                out = []
                with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
                    for i in range(k, args.n, 8):
                        t = time.perf_counter()
                        c.post("/v1/decide", json={"relation_id": ids[i % len(ids)]})
                        out.append(time.perf_counter() - t)
                return out

            t0 = time.perf_counter()
            with ThreadPoolExecutor(8) as pool:
                conc = [x for part in pool.map(worker, range(8)) for x in part]
            par = time.perf_counter() - t0
    print(
        f"POST /v1/decide, one client: p50 {_pct(lat, 50):.1f} ms, p99 {_pct(lat, 99):.1f} ms, "
        f"{args.n / seq:.0f} requests/s"
    )
    print(
        f"POST /v1/decide, 8 clients: p50 {_pct(conc, 50):.1f} ms, p99 {_pct(conc, 99):.1f} ms, "
        f"{args.n / par:.0f} requests/s (sequential median {statistics.median(lat) * 1000:.1f} ms)"
    )


if __name__ == "__main__":
    main()
