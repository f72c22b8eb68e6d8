#!/usr/bin/env python3
"""Reference numbers from the Python `lifetimes` package on the CDNOW sample.

crates/kehu-models/tests/lifetimes_cdnow.rs runs this script and checks that
kehu-models computes the same summaries, fitted parameters, log-likelihoods
and per-customer predictions from the same raw transactions.

Time is measured in weeks of 7 days (`freq='D', freq_multiplier=7`), the
observation period ends on the data set's last day, 1998-06-30, and CLV is
12 months at 1 % a month with 4.345 weeks to a month (lifetimes' freq='W').

The fits use lifetimes' own fitters. Pareto/NBD is fitted with a fixed start
and a much tighter Nelder-Mead tolerance than lifetimes' default (1e-4, random
start), so that the reference is the maximum of the likelihood rather than
wherever a loose simplex stopped. Log-likelihoods are totals over customers in
the weekly time unit, computed with lifetimes' own likelihood functions
(lifetimes itself stores a mean, or a total, depending on the model).

Prints one JSON document on stdout.
"""
import json
import os
import sys
import warnings

warnings.simplefilter("ignore")

import numpy as np
import pandas as pd
import lifetimes
import lifetimes.datasets
from lifetimes import BetaGeoFitter, ParetoNBDFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data

OBSERVATION_END = "1998-06-30"
HORIZON_WEEKS = 10.0
CLV_MONTHS = 12
CLV_MONTHLY_DISCOUNT = 0.01


class _ArrayInputs:
    """lifetimes' Pareto/NBD predictions fail on pandas Series inputs (scipy's
    hyp2f1 ufunc refuses mixed Series); customer_lifetime_value passes Series,
    so this hands the model plain arrays and gives a Series back."""

    def __init__(self, model):
        self.model = model

    def predict(self, t, frequency, recency, T):
        values = self.model.predict(
            t, frequency.to_numpy(), recency.to_numpy(), T.to_numpy()
        )
        return pd.Series(values, index=frequency.index)


def main():
    raw_path = os.path.join(os.path.dirname(lifetimes.datasets.__file__), "CDNOW_sample.txt")
    tx = pd.read_csv(
        raw_path,
        header=None,
        delim_whitespace=True,
        names=["master_id", "customer_id", "date", "cds", "amount"],
        dtype={"master_id": str, "customer_id": int, "date": str, "cds": int, "amount": float},
    )
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    summary = summary_data_from_transaction_data(
        tx,
        "customer_id",
        "date",
        monetary_value_col="amount",
        observation_period_end=OBSERVATION_END,
        freq="D",
        freq_multiplier=7,
    ).sort_index()
    f = summary["frequency"]
    r = summary["recency"]
    T = summary["T"]
    m = summary["monetary_value"]

    bgf = BetaGeoFitter().fit(f, r, T)
    bg_params = bgf.params_[["r", "alpha", "a", "b"]].to_numpy()
    w = np.ones(len(f))
    bg_ll = -BetaGeoFitter._negative_log_likelihood(
        np.log(bg_params), f.to_numpy().astype(int), r.to_numpy(), T.to_numpy(), w, 0.0
    ) * w.sum()

    np.random.seed(0)
    pnbd = ParetoNBDFitter().fit(
        f, r, T, initial_params=np.array([1.0, 1.0, 1.0, 1.0]), tol=1e-12, maxiter=20000
    )
    pn_params = pnbd.params_[["r", "alpha", "s", "beta"]].to_numpy()
    pn_ll = -ParetoNBDFitter._negative_log_likelihood(
        pn_params, f.to_numpy().astype(int), r.to_numpy(), T.to_numpy(), w, 0.0
    ) * w.mean()

    repeat = summary[(f > 0) & (m > 0)]
    ggf = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    gg_params = ggf.params_[["p", "q", "v"]].to_numpy()
    wr = np.ones(len(repeat))
    gg_ll = -GammaGammaFitter._negative_log_likelihood(
        np.log(gg_params), repeat["frequency"].to_numpy(), repeat["monetary_value"].to_numpy(), wr, 0.0
    ) * wr.sum()

    bg_expected = bgf.conditional_expected_number_of_purchases_up_to_time(HORIZON_WEEKS, f, r, T)
    bg_alive = bgf.conditional_probability_alive(f.to_numpy(), r.to_numpy(), T.to_numpy())
    fa, ra, Ta = f.to_numpy(), r.to_numpy(), T.to_numpy()
    pn_expected = pd.Series(
        pnbd.conditional_expected_number_of_purchases_up_to_time(HORIZON_WEEKS, fa, ra, Ta),
        index=summary.index,
    )
    pn_alive = pnbd.conditional_probability_alive(f.to_numpy(), r.to_numpy(), T.to_numpy())
    spend = ggf.conditional_expected_average_profit(f, m)
    clv_bg = ggf.customer_lifetime_value(
        bgf, f, r, T, m, time=CLV_MONTHS, discount_rate=CLV_MONTHLY_DISCOUNT, freq="W"
    )
    clv_pn = ggf.customer_lifetime_value(
        _ArrayInputs(pnbd), f, r, T, m, time=CLV_MONTHS, discount_rate=CLV_MONTHLY_DISCOUNT, freq="W"
    )

    horizons = [1.0, 10.0, 52.0]
    out = {
        "lifetimes_version": lifetimes.__version__,
        "raw_transactions_path": raw_path,
        "observation_end": OBSERVATION_END,
        "horizon_weeks": HORIZON_WEEKS,
        "clv_months": CLV_MONTHS,
        "clv_monthly_discount": CLV_MONTHLY_DISCOUNT,
        "bgnbd": {
            "params": dict(zip(["r", "alpha", "a", "b"], map(float, bg_params))),
            "log_likelihood": float(bg_ll),
            "unconditional_expected": {
                str(t): float(bgf.expected_number_of_purchases_up_to_time(t)) for t in horizons
            },
        },
        "pareto_nbd": {
            "params": dict(zip(["r", "alpha", "s", "beta"], map(float, pn_params))),
            "log_likelihood": float(pn_ll),
            "unconditional_expected": {
                str(t): float(pnbd.expected_number_of_purchases_up_to_time(t)) for t in horizons
            },
        },
        "gamma_gamma": {
            "params": dict(zip(["p", "q", "v"], map(float, gg_params))),
            "log_likelihood": float(gg_ll),
            "customers": int(len(repeat)),
        },
        "customers": [
            {
                "id": int(cid),
                "frequency": float(f[cid]),
                "recency": float(r[cid]),
                "T": float(T[cid]),
                "monetary_value": float(m[cid]),
                "bg_expected": float(bg_expected[cid]),
                "bg_alive": float(a_bg),
                "pn_expected": float(pn_expected[cid]),
                "pn_alive": float(a_pn),
                "expected_spend": float(spend[cid]),
                "clv_bgnbd": float(clv_bg[cid]),
                "clv_pareto": float(clv_pn[cid]),
            }
            for cid, a_bg, a_pn in zip(summary.index, bg_alive, pn_alive)
        ],
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
