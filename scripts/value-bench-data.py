#!/usr/bin/env python3
"""Fills a migrated, empty kehu SQLite database with a customer base for the
scores-recompute benchmark, and writes the same orders to a CSV file for the
DuckDB comparison.

    value-bench-data.py DB ORDERS_CSV CUSTOMERS [ORDERS_PER_CUSTOMER] [INTERACTIONS_PER_CUSTOMER]

Customers get 10 owners in 3 teams, one in twenty a referrer. Orders follow
what the purchase models assume (a Gamma purchase rate per customer, a
chance to stop after each purchase, spend per purchase Gamma-distributed
around a customer's own mean) over the two years up to 2026-06-30; one in
five orders has a discount and one in a hundred is a refund. Interactions
are spread over the same two years, one in four a visit.
"""

import csv
import random
import sqlite3
import sys
import uuid

END_MS = 1_782_835_200_000  # 2026-06-30T16:00:00Z, the end of 2026-06-30 in Shanghai
DAY_MS = 86_400_000
SPAN_DAYS = 730


def main():
    db, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    per = float(sys.argv[4]) if len(sys.argv) > 4 else 10.0
    touches = int(sys.argv[5]) if len(sys.argv) > 5 else 10
    rng = random.Random(7)
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    start_ms = END_MS - SPAN_DAYS * DAY_MS
    teams = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(3)]
    owners = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(10)]
    con.executemany(
        "INSERT INTO teams (id, name, created_at) VALUES (?, ?, 0)",
        [(t, f"销售{i + 1}组") for i, t in enumerate(teams)],
    )
    con.executemany(
        "INSERT INTO users (id, login, name, password_hash, role, team_id, created_at, updated_at) "
        "VALUES (?, ?, ?, '!', 'agent', ?, 0, 0)",
        [(o, f"sales{i}", f"销售{i}", teams[i % 3]) for i, o in enumerate(owners)],
    )
    ids = sorted(str(uuid.uuid4()) for _ in range(n))
    referrers = ids[:: 20]
    orders = 0
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "ordered_at", "amount_fen", "discount_fen"])
        for chunk in range(0, n, 10_000):
            cust, ords, acts = [], [], []
            for cid in ids[chunk : chunk + 10_000]:
                o = rng.randrange(10)
                created = start_ms - rng.randrange(365) * DAY_MS
                ref = rng.choice(referrers) if rng.random() < 0.3 else None
                if ref == cid:
                    ref = None
                cust.append((cid, "person", "客户", "kehu", "kh", owners[o], teams[o % 3], ref, created, created))
                rate = per / 365.0 * rng.gammavariate(2, 1) / 2.0
                stop = rng.random() * 2.0 / max(per, 1.0)
                mean = 30_000 / (rng.gammavariate(3, 1) / 3.0)
                day = rng.randrange(365) + rng.random()
                while day < SPAN_DAYS:
                    at = start_ms + int(day * DAY_MS)
                    amount = int(rng.gammavariate(6, 1) / 6.0 * mean) + 100
                    discount = amount // 10 if rng.random() < 0.2 else 0
                    if rng.random() < 0.01:
                        amount = -amount
                        discount = 0
                    ords.append((str(uuid.uuid4()), cid, at, amount, discount, at))
                    w.writerow((cid, at, amount, discount))
                    if rng.random() < stop or rate <= 0:
                        break
                    day += rng.expovariate(rate)
                for _ in range(touches):
                    at = start_ms + rng.randrange(SPAN_DAYS * DAY_MS)
                    kind = "visit" if rng.random() < 0.25 else "call"
                    acts.append((str(uuid.uuid4()), cid, kind, "回访", at, at))
            con.executemany(
                "INSERT INTO customers (id, kind, name, name_pinyin, name_initials, owner_id, team_id, "
                "referred_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                [c[:7] + c[8:] for c in cust],
            )
            con.executemany(
                "UPDATE customers SET referred_by = ? WHERE id = ?",
                [(c[7], c[0]) for c in cust if c[7] is not None],
            )
            con.executemany(
                "INSERT INTO orders (id, customer_id, ordered_at, amount_fen, discount_fen, quantity, created_at) "
                "VALUES (?, ?, ?, ?, ?, 1, ?)",
                ords,
            )
            con.executemany(
                "INSERT INTO interactions (id, customer_id, kind, body, occurred_at, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                acts,
            )
            con.commit()
            orders += len(ords)
    con.execute("ANALYZE")
    con.commit()
    print(f"{n} customers, {orders} orders, {n * touches} interactions")


if __name__ == "__main__":
    main()
