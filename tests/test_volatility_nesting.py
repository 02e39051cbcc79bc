"""The volatility challenger's choice of the model it nests: on the training span only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from arch import arch_model

from validation.families.volatility import NESTABLE, LNNGARCHTask, choose_nest
from validation.windows import Window


def test_choice_is_the_best_held_out_qlike_computed_by_arch(sp500):
    train = sp500.iloc[:2000]
    name, fit, scores = choose_nest(train, "t", holdout=250)
    inner, r2 = train.iloc[:-250], train.iloc[-250:].to_numpy() ** 2
    arch_vol = {"garch": ("GARCH", 0), "gjr": ("GARCH", 1), "egarch": ("EGARCH", 1)}
    for cand, (vol, o) in arch_vol.items():
        res = arch_model(inner, vol=vol, p=1, o=o, q=1, dist="t").fit(disp="off")
        var = arch_model(train, vol=vol, p=1, o=o, q=1, dist="t").fix(
            res.params).conditional_volatility.to_numpy()[-250:] ** 2
        ref = float(np.mean(np.log(var) + r2 / var))
        assert scores[cand] == pytest.approx(ref, rel=1e-6), cand
    assert name == scores.idxmin()
    vol, o = arch_vol[name]
    full = arch_model(train, vol=vol, p=1, o=o, q=1, dist="t").fit(disp="off")
    np.testing.assert_allclose(fit.params.to_numpy(), full.params.to_numpy(), rtol=1e-4)
    assert set(scores.index) == set(NESTABLE)


def test_choice_ignores_the_block(sp500):
    """The task chooses from the window's training span: changing the block's returns
    leaves the choice (the nest column) unchanged."""
    data = sp500.iloc[:1600].to_frame("returns")
    idx = data.index
    window = Window(id=0, train_start=0, train_end=1499, block_start=1500, block_end=1519,
                    train_start_time=idx[0], train_end_time=idx[1499],
                    block_start_time=idx[1500], block_end_time=idx[1519])
    task = LNNGARCHTask(hidden_size=2, vol="auto", epochs=1, search=False)
    a = task(data, window, seed=0)
    shocked = data.copy()
    shocked.iloc[1500:1520, 0] *= 5.0
    b = task(shocked, window, seed=0)
    assert a["nest"].iloc[0] == b["nest"].iloc[0]
    assert a["nest"].nunique() == 1 and a["nest"].iloc[0] in (0.0, 1.0, 2.0)
    pd.testing.assert_series_equal(a["variance"].iloc[:1], b["variance"].iloc[:1])


def test_a_short_span_chooses_by_bic(sp500):
    """Under 500 days there is too little to hold out: the choice is arch's lowest BIC."""
    name, fit, scores = choose_nest(sp500.iloc[:400], "t")
    assert scores.name == "BIC"
    arch_vol = {"garch": ("GARCH", 0), "gjr": ("GARCH", 1), "egarch": ("EGARCH", 1)}
    bic = {n: arch_model(sp500.iloc[:400], vol=v, p=1, o=o, q=1, dist="t").fit(disp="off").bic
           for n, (v, o) in arch_vol.items()}
    for n in bic:
        assert scores[n] == pytest.approx(bic[n], rel=1e-6)
    assert name == min(bic, key=bic.get)


def test_every_nested_model_returns_the_same_columns(sp500):
    """A walk-forward needs the same columns from every window, whichever model is nested."""
    data = sp500.iloc[:700].to_frame("returns")
    idx = data.index
    window = Window(id=0, train_start=0, train_end=679, block_start=680, block_end=699,
                    train_start_time=idx[0], train_end_time=idx[679],
                    block_start_time=idx[680], block_end_time=idx[699])
    cols = {vol: list(LNNGARCHTask(hidden_size=2, vol=vol, epochs=1)(data, window, seed=0))
            for vol in NESTABLE}
    assert cols["garch"] == cols["gjr"] == cols["egarch"]
