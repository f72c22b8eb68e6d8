#!/usr/bin/env python3
"""The scores recompute's aggregation of orders, in DuckDB SQL, for the
side-by-side measure in docs/benchmarks.md.

    value-duckdb.py ORDERS_CSV [AS_OF_DAY_MS_END] [WINDOW_DAYS]

Loads the orders (customer_id, ordered_at ms, amount_fen, discount_fen)
into an in-memory table, then computes per customer what kehu's read of the
orders computes: spend, list value and discounts in the window, spend in the
recent and the prior half window, purchase days in the window and in all,
first and last purchase day, and lifetime net spend; days are Shanghai
calendar days. Prints the seconds of the load and of the aggregation.
"""

import sys
import time

import duckdb

END_MS = 1_782_835_200_000  # the end of 2026-06-30 in Shanghai


def main():
    path = sys.argv[1]
    end = int(sys.argv[2]) if len(sys.argv) > 2 else END_MS
    window = int(sys.argv[3]) if len(sys.argv) > 3 else 365
    half = window // 2
    con = duckdb.connect()
    t = time.perf_counter()
    con.execute(f"CREATE TABLE orders AS SELECT * FROM read_csv_auto('{path}')")
    load = time.perf_counter() - t
    n = con.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
    today = (end - 1 + 8 * 3_600_000) // 86_400_000
    sql = f"""
    WITH o AS (
        SELECT customer_id, amount_fen, discount_fen,
               (ordered_at + 28800000) // 86400000 AS day
        FROM orders WHERE ordered_at < {end}
    )
    SELECT customer_id,
        SUM(amount_fen) FILTER (WHERE day > {today} - {window}) AS spend,
        SUM(amount_fen + discount_fen) FILTER (WHERE day > {today} - {window}) AS revenue,
        SUM(discount_fen) FILTER (WHERE day > {today} - {window}) AS discount,
        SUM(amount_fen) FILTER (WHERE day > {today} - {half}) AS recent,
        SUM(amount_fen) FILTER (WHERE day <= {today} - {half} AND day > {today} - 2 * {half}) AS prior,
        COUNT(DISTINCT day) FILTER (WHERE amount_fen >= 0 AND day > {today} - {window}) AS window_days,
        COUNT(DISTINCT day) FILTER (WHERE amount_fen >= 0) AS transactions,
        MIN(day) FILTER (WHERE amount_fen >= 0) AS first_day,
        MAX(day) FILTER (WHERE amount_fen >= 0) AS last_day,
        SUM(amount_fen) AS monetary
    FROM o GROUP BY customer_id
    """
    times = []
    for _ in range(3):
        t = time.perf_counter()
        rows = con.execute(f"SELECT COUNT(*), SUM(spend), SUM(transactions) FROM ({sql})").fetchone()
        times.append(time.perf_counter() - t)
    print(f"orders {n}; load {load:.2f} s; aggregation {min(times):.2f} s (best of 3: {', '.join(f'{x:.2f}' for x in times)})")
    print(f"customers {rows[0]}, spend in window {rows[1]}, purchase days {rows[2]}")


if __name__ == "__main__":
    main()
