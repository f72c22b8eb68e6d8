#!/usr/bin/env python3
"""Times lifetimes' BG/NBD, Pareto/NBD and Gamma-Gamma fits on a CSV of
synthetic customers (frequency,recency,T,monetary_value) written by
`cargo run --release -p kehu-models --example speed -- N FILE`, which times
kehu-models on the same customers.

lifetimes is used as its documentation shows: one row per customer, default
fitter settings (Pareto/NBD: Nelder-Mead from a random start; seeded here).

Usage: lifetimes-speed.py FILE [--skip-pareto]
"""
import sys
import time
import warnings

warnings.simplefilter("ignore")

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, ParetoNBDFitter, GammaGammaFitter


def main():
    path = sys.argv[1]
    skip_pareto = "--skip-pareto" in sys.argv[2:]
    df = pd.read_csv(path)
    print("customers", len(df))
    total = 0.0

    start = time.perf_counter()
    bgf = BetaGeoFitter().fit(df["frequency"], df["recency"], df["T"])
    elapsed = time.perf_counter() - start
    total += elapsed
    print("bgnbd       %9.3f s  %s" % (elapsed, dict(bgf.params_)))

    if not skip_pareto:
        np.random.seed(0)
        start = time.perf_counter()
        pnbd = ParetoNBDFitter().fit(df["frequency"], df["recency"], df["T"])
        elapsed = time.perf_counter() - start
        total += elapsed
        print("pareto_nbd  %9.3f s  %s" % (elapsed, dict(pnbd.params_)))

    repeat = df[(df["frequency"] > 0) & (df["monetary_value"] > 0)]
    start = time.perf_counter()
    ggf = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    elapsed = time.perf_counter() - start
    total += elapsed
    print("gamma_gamma %9.3f s  %s" % (elapsed, dict(ggf.params_)))
    print("total       %9.3f s" % total)


if __name__ == "__main__":
    main()
