#!/usr/bin/python3
"""Classical forecasts for the forecasting table: ETS and (seasonal) ARIMA
from statsmodels, fitted on the same training rows as Eddy's models and
scored with the same walk-forward protocol (bench/forecast/series.json).

Run with Debian's Python and statsmodels (python3-statsmodels):

    /usr/bin/python3 bench/forecast/classical.py [--only NAME] > bench/forecast/classical.json

Model choice uses the training rows only, as a statistician would:
* ETS: every additive / multiplicative (positive series only) combination
  of error, trend (none, additive, damped) and season (none, additive,
  multiplicative), chosen by AICc; seasonal only for seasons up to 24, as
  R's forecast::ets (longer seasons are left to the Fourier terms below).
* ARIMA: differencing d by repeated KPSS tests (5 %), seasonal differencing
  D by the STL seasonal strength (> 0.64, Hyndman's rule) for seasons up to
  24, then p, q in 0..2 and P, Q in 0..1 chosen by AICc; seasons longer than
  24 are modelled with K = 0, 2 or 4 Fourier pairs as regressors (dynamic
  harmonic regression), K chosen by AICc too.
* Both choices are made on the training rows before a validation tail
  (their last testSize rows); "classical" is whichever of the two then
  forecasts that tail better one step ahead, so the test rows never choose
  the model. The chosen specifications are refitted on every training row.

Each series can run in its own process (--only NAME > part.json), joined
with --merge part1.json part2.json … in series.json order.
"""
import argparse
import csv
import itertools
import json
import math
import os
import sys
import warnings

import numpy as np
from statsmodels.tsa.arima.model import ARIMA
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.seasonal import STL
from statsmodels.tsa.stattools import kpss

warnings.filterwarnings('ignore')
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, '..', '..', 'examples', 'data')


def read_series(file):
    with open(os.path.join(DATA, file), newline='') as f:
        rows = list(csv.reader(f))[1:]
    values = np.array([float(r[1]) if r[1].strip() not in ('', 'NA', 'nan') else np.nan for r in rows])
    observed = ~np.isnan(values)
    idx = np.arange(len(values))
    filled = np.interp(idx, idx[observed], values[observed])
    return filled, observed


def scores(pred, actual, mask, scale):
    pred, actual = np.asarray(pred)[mask], np.asarray(actual)[mask]
    err = pred - actual
    nz = actual != 0
    return {
        'mae': float(np.mean(np.abs(err))),
        'rmse': float(np.sqrt(np.mean(err ** 2))),
        'mape': float(100 * np.mean(np.abs(err[nz] / actual[nz]))),
        'mase': float(np.mean(np.abs(err)) / scale),
    }


def aicc(res):
    k = len(res.params)
    n = res.nobs
    return res.aic + (2 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else math.inf)


# ---- ETS ------------------------------------------------------------------

def ets_specs(y, m):
    positive = bool(np.all(y > 0))
    errors = ['add', 'mul'] if positive else ['add']
    trends = [(None, False), ('add', False), ('add', True)]
    seasons = [None]
    if 1 < m <= 24:
        seasons += ['add', 'mul'] if positive else ['add']
    for e, (t, d), s in itertools.product(errors, trends, seasons):
        yield dict(error=e, trend=t, damped_trend=d, seasonal=s, seasonal_periods=m if s else None)


def ets_fit(y, spec):
    model = ETSModel(y, initialization_method='estimated', **spec)
    return model.fit(disp=False, maxiter=2000)


def best_by_aicc(specs, fit):
    """The (spec, fitted result) of lowest AICc among the specifications that fit."""
    best = None
    for spec in specs:
        try:
            res = fit(spec)
        except Exception:  # a combination that does not fit this series
            continue
        score = aicc(res)
        if np.isfinite(score) and (best is None or score < best[0]):
            best = (score, spec, res)
    return best[1], best[2]


def ets_choose(y, m):
    return best_by_aicc(ets_specs(y, m), lambda spec: ets_fit(y, spec))


def ets_forecasts(spec, params, y, origins, horizon):
    """One-step forecasts of y[t] for t in origins, and horizon-step blocks, from rows before t."""
    one, multi = [], []
    for t in origins:
        res = ETSModel(y[:t], initialization_method='estimated', **spec).smooth(params)
        f = np.asarray(res.forecast(horizon))
        one.append(float(f[0]))
        multi.append([float(v) for v in f])
    return one, multi


def ets_describe(spec):
    e = 'A' if spec['error'] == 'add' else 'M'
    t = 'N' if spec['trend'] is None else ('Ad' if spec['damped_trend'] else 'A')
    s = 'N' if spec['seasonal'] is None else ('A' if spec['seasonal'] == 'add' else 'M')
    return f'ETS({e},{t},{s})' + (f' m={spec["seasonal_periods"]}' if spec['seasonal'] else '')


# ---- ARIMA ----------------------------------------------------------------

def kpss_d(y, max_d=2):
    d = 0
    x = y
    while d < max_d:
        stat, p, *_ = kpss(x, regression='c', nlags='auto')
        if p >= 0.05:
            break
        d += 1
        x = np.diff(x)
    return d


def seasonal_strength(y, m):
    r = STL(y, period=m, robust=True).fit()
    return max(0.0, 1 - np.var(r.resid) / np.var(r.seasonal + r.resid))


def fourier(n, m, k):
    t = np.arange(n)
    cols = []
    for j in range(1, k + 1):
        cols += [np.sin(2 * np.pi * j * t / m), np.cos(2 * np.pi * j * t / m)]
    return np.column_stack(cols) if cols else None


def arima_specs(y, m):
    d = kpss_d(y)
    seasonal = 1 < m <= 24
    big_season = m > 24
    D = 1 if seasonal and seasonal_strength(y, m) > 0.64 else 0
    if D:  # KPSS again on the seasonally differenced series
        d = min(d, kpss_d(y[m:] - y[:-m], max_d=1))
    PQ = list(itertools.product([0, 1], [0, 1])) if seasonal else [(0, 0)]
    Ks = [0, 2, 4] if big_season else [0]
    for p, q, (P, Q), K in itertools.product(range(3), range(3), PQ, Ks):
        trend = 'c' if d + D == 0 else ('t' if d + D == 1 else 'n')
        yield dict(order=(p, d, q), seasonal_order=(P, D, Q, m) if seasonal else (0, 0, 0, 0), trend=trend, K=K, m=m)


def arima_model(y, spec, n_total=None):
    exog = fourier(n_total or len(y), spec['m'], spec['K']) if spec['K'] else None
    if exog is not None:
        exog = exog[: len(y)]
    return ARIMA(y, exog=exog, order=spec['order'], seasonal_order=spec['seasonal_order'], trend=spec['trend'])


def arima_choose(y, m):
    return best_by_aicc(arima_specs(y, m), lambda spec: arima_model(y, spec).fit())


def arima_forecasts(spec, res, y, origins, horizon):
    n = len(y)
    exog_all = fourier(n + horizon, spec['m'], spec['K']) if spec['K'] else None
    full = res.apply(y, exog=exog_all[:n] if exog_all is not None else None)
    one, multi = [], []
    for t in origins:
        # dynamic from t: every step after the origin uses forecasts, not data.
        end = t + horizon - 1
        if end < n:
            f = np.asarray(full.predict(start=t, end=end, dynamic=True))
        else:
            part = res.apply(y[:t], exog=exog_all[:t] if exog_all is not None else None)
            f = np.asarray(part.forecast(horizon, exog=exog_all[t : t + horizon] if exog_all is not None else None))
        one.append(float(f[0]))
        multi.append([float(v) for v in f])
    return one, multi


def arima_describe(spec):
    p, d, q = spec['order']
    P, D, Q, m = spec['seasonal_order']
    s = f'({P},{D},{Q}){m}' if m else ''
    k = f' + {spec["K"]} Fourier pairs (m={spec["m"]})' if spec['K'] else ''
    return f'ARIMA({p},{d},{q}){s}{k}' + (' with drift' if spec['trend'] == 't' else '')


# ---- walk-forward ----------------------------------------------------------

def naive_scale(y, m):
    lag = m if m > 1 else 1
    return float(np.mean(np.abs(y[lag:] - y[:-lag])))


def choose(family, y, m):
    return ets_choose(y, m) if family == 'ets' else arima_choose(y, m)


def refit(family, spec, y):
    return ets_fit(y, spec) if family == 'ets' else arima_model(y, spec).fit()


def forecasts(family, spec, res, y, origins, horizon):
    if family == 'ets':
        return ets_forecasts(spec, res.params, y, origins, horizon)
    return arima_forecasts(spec, res, y, origins, horizon)


def describe(family, spec):
    return ets_describe(spec) if family == 'ets' else arima_describe(spec)


def evaluate(entry):
    y, observed = read_series(entry['file'])
    n = len(y)
    m = entry['season']
    test = entry['testSize']
    horizon = entry['horizon']
    train_end = n - test
    val_start = train_end - test
    scale = naive_scale(y[:train_end], m)
    one_actual = y[train_end:]
    one_mask = observed[train_end:]
    multi_idx = np.array([[t + k for k in range(horizon)] for t in range(train_end, n - horizon + 1)])
    multi_actual = y[multi_idx].ravel()
    multi_mask = observed[multi_idx].ravel()

    out = {'name': entry['name'], 'rows': n, 'trainRows': train_end, 'season': m, 'testSize': test, 'horizon': horizon, 'mapeNote': 'zero actual values are left out of MAPE', 'models': {}}
    for family in ('ets', 'arima'):
        # The specification is chosen on the training rows before the validation tail and scored
        # one step ahead on that tail; the same specification is then refitted on every training row.
        spec, res = choose(family, y[:val_start], m)
        v_one, _ = forecasts(family, spec, res, y[:train_end], range(val_start, train_end), 1)
        val = scores(v_one, y[val_start:train_end], observed[val_start:train_end], scale)
        res = refit(family, spec, y[:train_end])
        one, _ = forecasts(family, spec, res, y, range(train_end, n), 1)
        _, multi = forecasts(family, spec, res, y, range(train_end, n - horizon + 1), horizon)
        desc = describe(family, spec)
        out['models'][family] = {
            'model': desc,
            'validationMae': val['mae'],
            'oneStep': scores(one, one_actual, one_mask, scale),
            'multiStep': scores(np.ravel(multi), multi_actual, multi_mask, scale),
            'oneStepForecasts': [round(v, 6) for v in one],
        }
        print(f'{entry["name"]}: {family} {desc}: validation MAE {val["mae"]:.4g}, one-step MAE {out["models"][family]["oneStep"]["mae"]:.4g}, {horizon}-step MAE {out["models"][family]["multiStep"]["mae"]:.4g}', file=sys.stderr)
    chosen = min(('ets', 'arima'), key=lambda f: out['models'][f]['validationMae'])
    out['classical'] = chosen
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--only', help='one series by name')
    ap.add_argument('--merge', nargs='+', help='join the outputs of --only runs (in series.json order) instead of fitting')
    args = ap.parse_args()
    with open(os.path.join(HERE, 'series.json')) as f:
        settings = json.load(f)
    results = []
    if args.merge:
        found = {}
        for file in args.merge:
            with open(file) as f:
                for s in json.load(f)['series']:
                    found[s['name']] = s
        results = [found[e['name']] for e in settings['series'] if e['name'] in found]
    for entry in settings['series'] if not args.merge else []:
        if args.only and entry['name'] != args.only:
            continue
        results.append(evaluate(entry))
    json.dump({'protocol': settings['protocol'], 'statsmodels': __import__('statsmodels').__version__, 'series': results}, sys.stdout, indent=1)
    print()


if __name__ == '__main__':
    main()
