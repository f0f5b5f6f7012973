"""Customer value: who is still a customer, who will buy again, and what they are worth.

Why one module (~700 lines): the two models, their fitting and the plain data
the commands show share their parameters; apart they would be harder to check.

Two models from the customer-base literature, fitted by maximum likelihood on the
Sales sheet, and the plain data the commands show.

**Purchases: BG/NBD** (Fader, Hardie & Lee 2005, "Counting your customers the easy
way: an alternative to the Pareto/NBD model", Marketing Science 24(2)). While
active, a customer buys at a Poisson rate λ ~ Gamma(r, α); after every purchase
they drop out with probability p ~ Beta(a, b). Per customer, as of the period end:

- ``x``: repeat purchases, the days they bought on after their first (orders on
  one day count once, as in the paper);
- ``t_x``: days from their first to their last purchase (recency);
- ``T``: days from their first purchase to the period end (age).

The likelihood of one customer is the paper's equation (6)::

    L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
        + δ(x>0) · B(a+1, b+x-1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))

summed in logs (``gammaln``, ``betaln``, ``logaddexp``) over customers and
maximised with ``scipy.optimize.minimize`` on the logs of (r, α, a, b), from
three fixed starts with BFGS, keeping the best: deterministic. The
probability a customer is still active (Fader, Hardie & Lee 2008, "Computing
P(alive) using the BG/NBD model", equation 2)::

    P(alive | x, t_x, T) = 1 / (1 + δ(x>0) · a/(b+x-1) · ((α+T)/(α+t_x))^(r+x))

so a customer with no repeat purchase is active with probability 1, and the
expected purchases in the next ``t`` days, equation (10)::

    E[Y(t) | x, t_x, T] = (a+b+x-1)/(a-1)
        · [1 - ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x-1; t/(α+T+t))]
        / (1 + δ(x>0) · a/(b+x-1) · ((α+T)/(α+t_x))^(r+x))

(``hyp2f1``; where it overflows for a very frequent buyer, the expected rate of
an active customer, (r+x)/(α+T), times ``t`` times P(alive) is used instead).

**Spend: Gamma-Gamma** (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value
curves for customer base analysis", Journal of Marketing Research 42(4), section
"Adding monetary value"). The value of one purchase is Gamma(p, ν) with ν ~
Gamma(q, γ); ``m_x`` is the average of a customer's ``x`` repeat purchase days
(their first purchase left out, as in the paper's CDNOW analysis). The likelihood
of ``m_x`` (the paper's equation 3, written for the mean)::

    f(m_x | p, q, γ, x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q · m_x^(px-1) · x^(px) / (γ + m_x x)^(px+q)

fitted over repeat buyers the same way, and the expected average order value
(equation 5)::

    E[M | p, q, γ, m_x, x] = (γ + m_x x) p / (px + q - 1)

(the population mean p γ / (q - 1) for a customer without repeat purchases;
q > 1 is needed, otherwise no spend estimate is given).

**Expected value** over :data:`HORIZON_DAYS` = expected purchases in those days ×
expected average order value. No discount rate: over 90 days it would change the
figure by about one percent, less than the models' own uncertainty.

**Value at risk** = (1 - P(alive)) × expected average order value × the orders
they usually place in 90 days (90 divided by their usual days between orders):
what a customer normally brings in over the horizon, times the chance they have
gone. Customers due a contact are ranked by it, so the call that may save the
most comes first.

**Bands** instead of false precision (:data:`BANDS`): very likely active
(P(alive) ≥ 0.8), slipping (0.3 to 0.8), probably lost (< 0.3).

**Guard**: with fewer than :data:`MIN_REPEAT_BUYERS` customers who bought on at
least two days, no fit is attempted and the result says why.

**Fitting once**: a fit is a function of its inputs alone, so an :class:`Estimate`
carries ``fit_key`` (a hash of exactly those inputs and of the fitting settings)
and ``fits`` (what the optimiser found). Given back as ``known``, a record with the
same key replaces the optimiser and gives the same figures, to the last digit;
whoever keeps it (:mod:`sheetcrm.report.fits`, beside the workbook) decides where.
The expected orders worked out with a fit (``hyp2f1``, the one use of
scipy.special once fitted) are a function of the same inputs and the horizon, so
``fits`` carries them too once computed, and a record holding them for this
horizon gives them back without scipy.

Pure: the Sales frame (or a Book) and a day in, plain data out. scipy is
imported inside the functions that need it, so commands that never fit stay fast.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from sheetcrm.rules import rfm

MIN_REPEAT_BUYERS = 20
HORIZON_DAYS = 90
#: (lowest P(alive), band key, the words the owner reads), highest first.
BANDS = (
    (0.8, "very_likely_active", "very likely active"),
    (0.3, "slipping", "slipping"),
    (0.0, "probably_lost", "probably lost"),
)
BAND_WORDS = {key: words for _, key, words in BANDS}
#: How many slipping customers the weekly report lists.
REPORT_SLIPPING = 10

_COLUMNS = (
    "first_day",
    "last_day",
    "frequency",
    "recency",
    "age",
    "monetary",
    "orders",
    "spent",
    "usual_gap_days",
    "p_alive",
    "band",
    "expected_orders",
    "expected_order_value",
    "expected_value",
    "value_at_risk",
)


@dataclass(frozen=True, slots=True)
class Estimate:
    """The fitted models and the per-customer figures as of one day.

    ``reason`` says, in the owner's words, why there is no purchase estimate
    (``None`` when there is one); ``spend_reason`` the same for the spend model.
    ``customers`` is indexed by customer_id (sorted) with one row per buyer:
    ``frequency``, ``recency``, ``age`` (days, as in the paper), ``monetary``
    (average repeat purchase), ``orders`` and ``spent`` (all purchase days and
    their total), ``usual_gap_days``, then ``p_alive``, ``band``,
    ``expected_orders``, ``expected_order_value``, ``expected_value`` and
    ``value_at_risk`` (NaN / None where the model has no estimate).

    ``fit_key`` is the hash of the fit's inputs (None when too few customers
    bought twice to fit), ``fits`` the raw results for it (:func:`estimate`'s
    ``known``), and ``reused`` says they came from there instead of the optimiser.
    Without ``orders``, ``expected_orders`` and ``expected_value`` were not worked
    out (they are NaN): the follow-ups do not show them.
    """

    as_of: date
    buyers: int
    repeat_buyers: int
    purchases: dict[str, float] | None
    spend: dict[str, float] | None
    reason: str | None
    spend_reason: str | None
    customers: pd.DataFrame = field(repr=False)
    horizon_days: int = HORIZON_DAYS
    fit_key: str | None = None
    fits: dict[str, Any] | None = field(default=None, repr=False)
    reused: bool = False
    orders: bool = True

    @property
    def fitted(self) -> bool:
        return self.purchases is not None


# ------------------------------------------------------------------ the models


def bgnbd_log_likelihood(
    params: Any, x: np.ndarray, t_x: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """Each customer's log-likelihood under BG/NBD with ``params`` = (r, α, a, b)."""
    from scipy.special import betaln, gammaln

    r, alpha, a, b = (float(v) for v in params)
    x = np.asarray(x, dtype="float64")
    one_more = np.maximum(x, 1.0)  # log(b + x - 1) only where x > 0
    head = gammaln(r + x) - gammaln(r) + r * math.log(alpha) + betaln(a, b + x) - betaln(a, b)
    alive = -(r + x) * np.log(alpha + age)
    dropped = math.log(a) - np.log(b + one_more - 1) - (r + x) * np.log(alpha + t_x)
    dropped = np.where(x > 0, dropped, -np.inf)
    return np.asarray(head + np.logaddexp(alive, dropped))


def p_alive(params: Any, x: Any, t_x: Any, age: Any) -> np.ndarray:
    """P(alive | x, t_x, T): the chance each customer still buys (1 with no repeat)."""
    r, alpha, a, b = (float(v) for v in params)
    x = np.asarray(x, dtype="float64")
    t_x, age = np.asarray(t_x, dtype="float64"), np.asarray(age, dtype="float64")
    one_more = np.maximum(x, 1.0)
    log_odds_gone = (
        math.log(a)
        - np.log(b + one_more - 1)
        + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
    )
    log_odds_gone = np.where(x > 0, log_odds_gone, -np.inf)
    # scipy.special.expit(-z), computed as it does (1 / (1 + exp(z)), with the C library's
    # exp, which numpy's own exp can differ from in the last bit): the same figures, and
    # ``followups`` with a kept fit needs no scipy at all. One customer per buyer: cheap.
    flat = [_expit_negative(z) for z in log_odds_gone.ravel().tolist()]
    return np.array(flat, dtype="float64").reshape(log_odds_gone.shape)


def _expit_negative(z: float) -> float:
    try:
        return 1.0 / (1.0 + math.exp(z))
    except OverflowError:  # exp(z) is infinite: surely gone
        return 0.0


def expected_purchases(params: Any, t: float, x: Any, t_x: Any, age: Any) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected purchase days in the next ``t`` days."""
    from scipy.special import hyp2f1

    r, alpha, a, b = (float(v) for v in params)
    x = np.asarray(x, dtype="float64")
    t_x, age = np.asarray(t_x, dtype="float64"), np.asarray(age, dtype="float64")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        z = t / (alpha + age + t)
        share = np.exp((r + x) * (np.log(alpha + age) - np.log(alpha + age + t)))
        body = (a + b + x - 1) / (a - 1) * (1 - share * hyp2f1(r + x, b + x, a + b + x - 1, z))
        alive = p_alive(params, x, t_x, age)
        result = body * alive  # the paper's denominator is 1 / P(alive)
        simple = alive * (r + x) / (alpha + age) * t
    return np.asarray(np.where(np.isfinite(result) & (result >= 0), result, simple))


def gamma_gamma_log_likelihood(params: Any, x: np.ndarray, m_x: np.ndarray) -> np.ndarray:
    """Each repeat buyer's log-likelihood of their average spend with ``params`` = (p, q, γ)."""
    from scipy.special import gammaln

    p, q, g = (float(v) for v in params)
    px = p * np.asarray(x, dtype="float64")
    return np.asarray(
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * math.log(g)
        + (px - 1) * np.log(m_x)
        + px * np.log(x)
        - (px + q) * np.log(g + x * m_x)
    )


def bgnbd_gradient(params: Any, x: np.ndarray, t_x: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Each customer's derivatives of the BG/NBD log-likelihood by (r, α, a, b): shape (4, n).

    From equation (6) written as ``head + logaddexp(alive, dropped)``: with ψ the
    digamma function and w, 1 - w the shares of the two terms,
    ∂/∂r = ψ(r+x) - ψ(r) + ln α - w ln(α+T) - (1-w) ln(α+t_x),
    ∂/∂α = r/α - (r+x) (w/(α+T) + (1-w)/(α+t_x)),
    ∂/∂a = ψ(a+b) - ψ(a+b+x) + (1-w)/a,
    ∂/∂b = ψ(b+x) - ψ(a+b+x) - ψ(b) + ψ(a+b) - (1-w)/(b+x-1).
    """
    from scipy.special import digamma

    r, alpha, a, b = (float(v) for v in params)
    x = np.asarray(x, dtype="float64")
    one_more = np.maximum(x, 1.0)
    alive = -(r + x) * np.log(alpha + age)
    dropped = math.log(a) - np.log(b + one_more - 1) - (r + x) * np.log(alpha + t_x)
    dropped = np.where(x > 0, dropped, -np.inf)
    total = np.logaddexp(alive, dropped)
    w_alive, w_dropped = np.exp(alive - total), np.exp(dropped - total)
    return np.vstack(
        [
            digamma(r + x)
            - digamma(r)
            + math.log(alpha)
            - w_alive * np.log(alpha + age)
            - w_dropped * np.log(alpha + t_x),
            r / alpha - (r + x) * (w_alive / (alpha + age) + w_dropped / (alpha + t_x)),
            digamma(a + b) - digamma(a + b + x) + w_dropped / a,
            digamma(b + x)
            - digamma(a + b + x)
            - digamma(b)
            + digamma(a + b)
            - w_dropped / (b + one_more - 1),
        ]
    )


def gamma_gamma_gradient(params: Any, x: np.ndarray, m_x: np.ndarray) -> np.ndarray:
    """Each repeat buyer's derivatives of the Gamma-Gamma log-likelihood by (p, q, γ): (3, n)."""
    from scipy.special import digamma

    p, q, g = (float(v) for v in params)
    x = np.asarray(x, dtype="float64")
    px = p * x
    spent = np.log(g + x * m_x)
    return np.vstack(
        [
            x * (digamma(px + q) - digamma(px) + np.log(m_x) + np.log(x) - spent),
            digamma(px + q) - digamma(q) + math.log(g) - spent,
            q / g - (px + q) / (g + x * m_x),
        ]
    )


def expected_order_value(params: Any, x: Any, m_x: Any) -> np.ndarray:
    """E[M | p, q, γ, m_x, x]; the population mean where ``x`` is 0."""
    p, q, g = (float(v) for v in params)
    x = np.asarray(x, dtype="float64")
    m_x = np.nan_to_num(np.asarray(m_x, dtype="float64"))
    return np.asarray((g + m_x * x) * p / (p * x + q - 1))


def _maximise(neg_log_likelihood: Any, starts: list[list[float]]) -> tuple[np.ndarray, bool]:
    """The parameters (not their logs) that maximise a likelihood, and whether it settled.

    ``neg_log_likelihood(log_params)`` returns the value and its gradient. BFGS on
    the log-parameters from each start, keeping the best: the BG/NBD
    likelihood has ridges where one start can stall, hence several. Every step is
    deterministic: the same data give the same fit.
    """
    from scipy.optimize import minimize

    best_x: np.ndarray | None = None
    best_fun = math.inf
    with np.errstate(all="ignore"):
        for start in starts:
            found = minimize(
                neg_log_likelihood,
                np.asarray(start, dtype="float64"),
                jac=True,  # the likelihoods give their exact gradients too
                method="BFGS",
                options=dict(_BFGS),
            )
            if np.isfinite(found.fun) and found.fun < min(best_fun, _OUTSIDE):
                best_x, best_fun = found.x, float(found.fun)
    if best_x is None:
        return np.full(len(starts[0]), np.nan), False
    params = np.exp(best_x)
    # A parameter running off towards 0 or infinity is still a maximum: for BG/NBD,
    # a -> 0 with b -> infinity means no sign that customers leave (the NBD limit),
    # and every formula below stays finite there.
    settled = bool(np.all(np.isfinite(params)) and np.all(params > 0))
    return params, settled


_BFGS = (("gtol", 1e-9), ("maxiter", 2000))
# Start values (logs of r, α, a, b) with time scaled so the oldest customer is 10 units old.
_BGNBD_STARTS = [[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, -1.0, 1.0], [1.0, 1.0, 0.0, 2.0]]
_GAMMA_GAMMA_STARTS = [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]
# Parameters are kept within e^±12 (about 6e-6 to 160,000, in scaled units): beyond,
# betaln(a, b+x) - betaln(a, b) loses its digits and the likelihood would climb on
# rounding error alone. At the edge the fit still means what the limit means
# (a and b large together: every customer leaves with the same small chance).
_LOG_BOUND = 12.0
# What the likelihoods return outside those bounds or where they do not compute: a
# large finite number, so a gradient step that lands there is simply refused.
_OUTSIDE = 1e10


def fit_bgnbd(x: Any, t_x: Any, age: Any) -> tuple[dict[str, float], bool]:
    """Maximum-likelihood (r, α, a, b) and whether the fit settled.

    Customers with the same (x, t_x, T) are counted once with a weight: the
    likelihood is a sum, so the fit is the same and faster.
    """
    summary = pd.DataFrame({"x": x, "t_x": t_x, "age": age}).astype("float64")
    grouped = summary.groupby(["x", "t_x", "age"], sort=True).size().reset_index(name="n")
    # Time in units that make the oldest customer 10 old: the same maximum (α scales
    # with time, the rest does not), but the start values sit near it for any shop.
    scale = 10.0 / max(float(grouped["age"].max()), 1.0)
    xs = grouped["x"].to_numpy()
    txs, ages = grouped["t_x"].to_numpy() * scale, grouped["age"].to_numpy() * scale
    weights = grouped["n"].to_numpy(dtype="float64")
    total = weights.sum()

    def nll(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        if np.any(np.abs(log_params) > _LOG_BOUND):
            return _OUTSIDE, np.zeros(4)
        params = np.exp(log_params)
        value = -(weights * bgnbd_log_likelihood(params, xs, txs, ages)).sum() / total
        # By the chain rule, d/d(log θ) = θ · d/dθ.
        grad = -(bgnbd_gradient(params, xs, txs, ages) @ weights) / total * params
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            return _OUTSIDE, np.zeros(4)
        return float(value), grad

    params, settled = _maximise(nll, _BGNBD_STARTS)
    params[1] /= scale
    return dict(zip(("r", "alpha", "a", "b"), (float(v) for v in params), strict=True)), settled


def fit_gamma_gamma(x: Any, m_x: Any) -> tuple[dict[str, float], bool]:
    """Maximum-likelihood (p, q, γ) over repeat buyers, and whether the fit settled."""
    xs = np.asarray(x, dtype="float64")
    # Money in units of the average spend: γ scales with money, p and q do not.
    unit = float(np.mean(m_x)) if len(xs) else 1.0
    unit = unit if unit > 0 else 1.0
    ms = np.asarray(m_x, dtype="float64") / unit

    def nll(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        if np.any(np.abs(log_params) > _LOG_BOUND):
            return _OUTSIDE, np.zeros(3)
        params = np.exp(log_params)
        value = -gamma_gamma_log_likelihood(params, xs, ms).sum() / len(xs)
        grad = -gamma_gamma_gradient(params, xs, ms).sum(axis=1) / len(xs) * params
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            return _OUTSIDE, np.zeros(3)
        return float(value), grad

    params, settled = _maximise(nll, _GAMMA_GAMMA_STARTS)
    params[2] *= unit
    return dict(zip(("p", "q", "gamma"), (float(v) for v in params), strict=True)), settled


# ------------------------------------------------------------------ the data


def summary(sales: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Per buyer as of ``as_of``: frequency, recency, age, monetary, orders, spent, usual gap.

    Indexed by customer_id, sorted. Follows the papers' definitions (module
    docstring); ``usual_gap_days`` is recency / frequency, NaN without a repeat.
    """
    days = rfm.purchases(sales, as_of)
    per = days.groupby("customer_id", sort=True)
    first = per["day"].min()
    last = per["day"].max()
    orders = per["day"].size()
    spent = per["amount"].sum()
    # The first day's purchase is left out of m_x (the paper's CDNOW analysis).
    first_amount = days.loc[days["day"] == days["customer_id"].map(first), :]
    first_amount = first_amount.set_index("customer_id")["amount"]
    frequency = (orders - 1).astype("int64")
    repeat_spent = spent - first_amount.reindex(spent.index)
    table = pd.DataFrame(
        {
            "first_day": first,
            "last_day": last,
            "frequency": frequency,
            "recency": (last - first).astype("float64"),
            "age": (as_of.toordinal() - first).astype("float64"),
            "monetary": (repeat_spent / frequency.replace(0, np.nan)).astype("float64"),
            "orders": orders.astype("int64"),
            "spent": spent.astype("float64"),
        }
    )
    table["usual_gap_days"] = table["recency"] / table["frequency"].replace(0, np.nan)
    table.index.name = "customer_id"
    return table


def band(probability: float | None) -> str | None:
    """The band key for a P(alive): ``very_likely_active``, ``slipping`` or ``probably_lost``."""
    if probability is None or not np.isfinite(probability):
        return None
    for lowest, key, _ in BANDS:
        if probability >= lowest:
            return key
    return BANDS[-1][1]


def estimate(
    sales: pd.DataFrame,
    as_of: date,
    *,
    horizon_days: int = HORIZON_DAYS,
    min_repeat_buyers: int = MIN_REPEAT_BUYERS,
    known: Mapping[str, Any] | None = None,
    orders: bool = True,
) -> Estimate:
    """Fit both models on the purchases up to ``as_of`` and predict for every buyer.

    ``known``: the ``fits`` of an earlier estimate with its ``fit_key`` (``{"key": ...,
    **fits}``). Used when the key is this fit's, so the optimiser does not run;
    ignored otherwise, or when it is not the shape :func:`estimate` writes.
    ``orders=False`` skips the expected orders and value (the one use of
    scipy.special's hyp2f1 once the models are fitted).
    """
    est = _estimate(sales, as_of, horizon_days, min_repeat_buyers, known, orders)
    return est if orders else replace(est, orders=False)


def for_day(worth: Estimate | None, sales: pd.DataFrame, day: date) -> Estimate:
    """``worth`` when the caller has the estimate already, else :func:`estimate` of ``sales``.

    A given one must be as of ``day``: a list for today ranked by another day's chances
    would mislead, so that is a mistake in the calling code.
    """
    if worth is None:
        return estimate(sales, day)
    if worth.as_of != day:
        raise ValueError(f"the customer-value estimate is as of {worth.as_of}, not {day}")
    return worth


def _estimate(
    sales: pd.DataFrame,
    as_of: date,
    horizon_days: int,
    min_repeat_buyers: int,
    known: Mapping[str, Any] | None,
    orders: bool,
) -> Estimate:
    table = summary(sales, as_of)
    buyers = len(table)
    repeat = int((table["frequency"] > 0).sum())
    for column in _COLUMNS:
        if column not in table:
            table[column] = np.nan
    table["band"] = None
    if repeat < min_repeat_buyers:
        twice = "customer has" if repeat == 1 else "customers have"
        reason = (
            f"not enough history: {repeat} {twice} bought on two different days; "
            f"the estimate needs {min_repeat_buyers}"
        )
        return Estimate(as_of, buyers, repeat, None, None, reason, reason, table, horizon_days)

    x, t_x, age = (table[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "age"))
    repeaters = table[(table["frequency"] > 0) & (table["monetary"] > 0)]
    spend_x = repeaters["frequency"].to_numpy(dtype="float64")
    spend_m = repeaters["monetary"].to_numpy(dtype="float64")
    key = fit_key(x, t_x, age, spend_x, spend_m)
    fits = _known_fits(known, key)
    reused = fits is not None
    if fits is None:
        fits = {"purchases": None, "spend": None}
        found, settled = fit_bgnbd(x, t_x, age)
        if settled:
            fits["purchases"] = found
            found, settled = fit_gamma_gamma(spend_x, spend_m)
            fits["spend"] = found if settled else None
    purchases_fit = fits["purchases"]
    if purchases_fit is None:
        reason = "the purchase estimate did not settle on this history; try again next week"
        return Estimate(
            *(as_of, buyers, repeat, None, None, reason, reason, table, horizon_days),
            fit_key=key,
            fits=fits,
            reused=reused,
        )
    params = tuple(purchases_fit.values())
    alive = p_alive(params, x, t_x, age)
    table["p_alive"] = alive
    table["band"] = [band(float(p)) for p in alive]
    kept = _known_orders(known if reused else None, horizon_days, len(table))
    if orders and kept is None:
        kept = expected_purchases(params, horizon_days, x, t_x, age)
    if kept is not None:
        fits = {**fits, "orders": _orders_record(kept, horizon_days)}
    if orders:
        table["expected_orders"] = kept

    spend_fit: dict[str, float] | None = fits["spend"]
    spend_reason: str | None = None
    if spend_fit is None or spend_fit["q"] <= 1:
        spend_fit = None
        spend_reason = "order values vary too much to estimate what a customer will spend"
    else:
        per_order = expected_order_value(tuple(spend_fit.values()), x, table["monetary"])
        table["expected_order_value"] = per_order
        table["expected_value"] = table["expected_orders"] * per_order
        usual_orders = horizon_days / table["usual_gap_days"].where(table["usual_gap_days"] > 0)
        table["value_at_risk"] = ((1 - alive) * per_order * usual_orders).fillna(0.0)
    return Estimate(
        as_of,
        buyers,
        repeat,
        purchases_fit,
        spend_fit,
        None,
        spend_reason,
        table,
        horizon_days,
        fit_key=key,
        fits=fits,
        reused=reused,
    )


# What a fit depends on besides its data: change any of it and every kept fit is stale.
# Bump FIT_VERSION when the likelihoods or the optimiser change in a way these miss.
FIT_VERSION = 1


def fit_key(
    x: np.ndarray, t_x: np.ndarray, age: np.ndarray, spend_x: np.ndarray, spend_m: np.ndarray
) -> str:
    """A hash of exactly what :func:`fit_bgnbd` and :func:`fit_gamma_gamma` are given,
    and of the settings they fit with."""
    settings = (FIT_VERSION, _BGNBD_STARTS, _GAMMA_GAMMA_STARTS, _LOG_BOUND, _OUTSIDE, _BFGS)
    digest = hashlib.sha256(repr(settings).encode())
    for array in (x, t_x, age, spend_x, spend_m):
        data = np.ascontiguousarray(array, dtype="<f8")
        digest.update(len(data).to_bytes(8, "little"))  # where one array ends and the next begins
        digest.update(data.tobytes())
    return digest.hexdigest()


_PARAMS = {"purchases": ("r", "alpha", "a", "b"), "spend": ("p", "q", "gamma")}


def _known_fits(known: Mapping[str, Any] | None, key: str) -> dict[str, Any] | None:
    """The fits in ``known`` when they are for ``key`` and well formed, else None."""
    if not isinstance(known, Mapping) or known.get("key") != key:
        return None
    fits: dict[str, Any] = {}
    for model, names in _PARAMS.items():
        if model not in known:
            return None
        params = known[model]
        if params is None:  # the optimiser did not settle
            fits[model] = None
            continue
        if not isinstance(params, Mapping) or set(params) != set(names):
            return None
        values = [params[n] for n in names]
        if not all(isinstance(v, float) and math.isfinite(v) and v > 0 for v in values):
            return None
        fits[model] = dict(zip(names, values, strict=True))
    if fits["purchases"] is None and fits["spend"] is not None:
        return None  # the spend model is only fitted after the purchase model settled
    return fits


def _orders_record(expected: np.ndarray, horizon_days: int) -> dict[str, Any]:
    """The expected orders as ``fits`` keeps them: JSON has no NaN, so a missing one is None."""
    floats = np.asarray(expected, dtype="float64").tolist()
    values = [v if math.isfinite(v) else None for v in floats]
    return {"horizon_days": horizon_days, "values": values}


def _known_orders(
    known: Mapping[str, Any] | None, horizon_days: int, buyers: int
) -> np.ndarray | None:
    """The expected orders kept in ``known`` (already matched to this fit's key) for this
    horizon and this many buyers, else None: worked out again."""
    record = known.get("orders") if isinstance(known, Mapping) else None
    if not isinstance(record, Mapping) or record.get("horizon_days") != horizon_days:
        return None
    values = record.get("values")
    if not isinstance(values, list) or len(values) != buyers:
        return None
    if not all(v is None or (isinstance(v, float) and math.isfinite(v) and v >= 0) for v in values):
        return None
    return np.array([math.nan if v is None else v for v in values], dtype="float64")


# ------------------------------------------------------------------ what the commands show


def _with_orders(est: Estimate) -> None:
    if not est.orders:  # a mistake in the calling code: the figures shown would be empty
        raise ValueError("this estimate was made without the expected orders (orders=False)")


def _number(value: Any, digits: int) -> float | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return round(float(value), digits)


def customer_figures(est: Estimate, customer_id: str, segment: str | None) -> dict[str, Any]:
    """One customer's value as plain data for ``customer show``.

    Rounded for people: P(alive) to two decimals, orders to one, money to whole units.
    """
    _with_orders(est)
    base: dict[str, Any] = {
        "horizon_days": est.horizon_days,
        "estimate": est.fitted,
        "reason": est.reason,
        "spend_reason": est.spend_reason,
        "segment": segment,
        "segment_words": rfm.SEGMENT_WORDS.get(segment or "", None),
        "p_alive": None,
        "band": None,
        "band_words": None,
        "expected_orders": None,
        "expected_order_value": None,
        "expected_value": None,
        "value_at_risk": None,
    }
    if customer_id not in est.customers.index:
        if est.fitted:
            base["reason"] = "no orders yet, so nothing to estimate"
        return base
    row = est.customers.loc[customer_id]
    base.update(
        {
            "p_alive": _number(row["p_alive"], 2),
            "band": row["band"],
            "band_words": BAND_WORDS.get(row["band"] or ""),
            "expected_orders": _number(row["expected_orders"], 1),
            "expected_order_value": _number(row["expected_order_value"], 0),
            "expected_value": _number(row["expected_value"], 0),
            "value_at_risk": _number(row["value_at_risk"], 0),
        }
    )
    return base


@dataclass(frozen=True, slots=True)
class Hint:
    """What the value models add to a follow-up: a sentence when slipping, and the stake."""

    sentence: str | None
    value_at_risk: float


def followup_hints(est: Estimate) -> dict[str, Hint]:
    """Per buyer: "likely slipping away (...)" for the slipping band, and their value at risk.

    Only the slipping band (P(alive) 0.3 to 0.8) gets a sentence: that is when a call
    can still keep them. Probably-lost customers are listed in the weekly report
    instead, so the daily list is not buried under customers long gone. Empty when
    there is no estimate.
    """
    if not est.fitted:
        return {}
    table = est.customers
    hints: dict[str, Hint] = {}
    at_risk = table["value_at_risk"].fillna(0.0)
    for customer_id, p, gap, kind, stake in zip(
        table.index,
        table["p_alive"],
        table["usual_gap_days"],
        table["band"],
        at_risk,
        strict=True,
    ):
        sentence = None
        if kind == "slipping":
            sentence = (
                f"Likely slipping away (P(alive) {p:.2f}, usually orders every {gap:.0f} days)."
            )
        # Whole currency units: a stake of a fraction of a krone (a customer almost
        # surely still buying) must not reorder the list; equal stakes keep the order
        # of the other reasons.
        stake = float(round(stake))
        if sentence or stake > 0:
            hints[str(customer_id)] = Hint(sentence, stake)
    return hints


def report_section(
    est: Estimate,
    sales: pd.DataFrame,
    customers: pd.DataFrame,
    period_end: date,
    previous_end: date,
) -> dict[str, Any]:
    """``context["customer_value"]``: segments and their movement, whom to call, the ladder.

    Segments are counted at ``period_end`` (the last day of the report's period)
    and ``previous_end`` (the last day of the one before), like every period
    figure; whom to call is worked out as of ``est.as_of``, the day the report is
    made, like its follow-ups and customers at risk: a call list is for today.
    """
    _with_orders(est)
    as_of = est.as_of
    now = rfm.segments(sales, period_end)
    before = rfm.segments(sales, previous_end)
    counts_now, counts_before = rfm.counts(now), rfm.counts(before)
    segment_rows = [
        {
            "segment": key,
            "words": rfm.SEGMENT_WORDS[key],
            "customers": counts_now[key],
            "previous": counts_before[key],
            "change": counts_now[key] - counts_before[key],
        }
        for key in rfm.SEGMENTS
    ]
    # Customers who moved segment between the two period ends (both scored).
    both = pd.DataFrame({"segment": now["segment"], "segment_before": before["segment"]})
    both = both.dropna()
    moved = both[both["segment"] != both["segment_before"]]
    moves = (
        moved.groupby(["segment_before", "segment"], sort=True).size().reset_index(name="n")
        if len(moved)
        else pd.DataFrame(columns=["segment_before", "segment", "n"])
    )
    movement = [
        {
            "from": r.segment_before,
            "to": r.segment,
            "from_words": rfm.SEGMENT_WORDS[r.segment_before],
            "to_words": rfm.SEGMENT_WORDS[r.segment],
            "customers": int(r.n),
        }
        for r in moves.sort_values(
            ["n", "segment_before", "segment"], ascending=[False, True, True]
        )
        .head(10)
        .itertuples(index=False)
    ]

    people = customers.dropna(subset=["customer_id"]).drop_duplicates("customer_id")
    people = people.set_index(people["customer_id"].astype(str))
    slipping: list[dict[str, Any]] = []
    bands = {key: 0 for _, key, _ in BANDS}
    if est.fitted:
        table = est.customers
        found = table["band"].value_counts()
        bands = {key: int(found.get(key, 0)) for key in bands}
        chosen = table[table["band"] == "slipping"]
        chosen = chosen.assign(stake=chosen["value_at_risk"].fillna(0.0))
        chosen = chosen.sort_values(
            ["stake", "p_alive"], ascending=[False, True], kind="stable"
        ).head(REPORT_SLIPPING)
        for customer_id, row in chosen.iterrows():
            person = people.loc[customer_id] if customer_id in people.index else None
            slipping.append(
                {
                    "customer_id": customer_id,
                    "name": _text(person, "name"),
                    "owner": _text(person, "owner"),
                    "phone": _text(person, "phone"),
                    "email": _text(person, "email"),
                    "p_alive": _number(row["p_alive"], 2),
                    "usual_gap_days": _number(row["usual_gap_days"], 0),
                    "last_order": date.fromordinal(int(row["last_day"])).isoformat(),
                    "value_at_risk": _number(row["value_at_risk"], 0),
                    "expected_value": _number(row["expected_value"], 0),
                    "segment": now["segment"].get(customer_id),
                }
            )
    stages = customers["stage"].dropna().astype(str).value_counts()
    return {
        "as_of": as_of.isoformat(),
        "period_end": period_end.isoformat(),
        "previous_end": previous_end.isoformat(),
        "horizon_days": est.horizon_days,
        "estimate": est.fitted,
        "reason": est.reason,
        "spend_reason": est.spend_reason,
        "buyers": est.buyers,
        "repeat_buyers": est.repeat_buyers,
        "min_repeat_buyers": MIN_REPEAT_BUYERS,
        "models": {"purchases": est.purchases, "spend": est.spend},
        "bands": bands,
        "expected_value": (
            _number(est.customers["expected_value"].sum(), 0) if est.spend is not None else None
        ),
        "segments": segment_rows,
        "segment_moves": movement,
        "slipping": slipping,
        "ladder": {
            "by_stage": {str(k): int(v) for k, v in stages.sort_index().items()},
            "moves": None,
            "note": (
                "The Customers sheet keeps each customer's present stage, not the day it "
                "changed, so stage moves in the period cannot be counted; the segment "
                "movement shows how buying moved instead."
            ),
        },
    }


def previous_day(period_start: date) -> date:
    """The last day before a period: where the previous period's segments are taken."""
    return period_start - timedelta(days=1)


def _text(person: Any, column: str) -> str | None:
    if person is None:
        return None
    value = person.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)
