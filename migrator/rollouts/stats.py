"""Always-valid confidence sequences from the mixture sequential probability ratio test (mSPRT).

Johari, Pekelis & Walsh, "Always Valid Inference: Continuous Monitoring of A/B Tests" (Operations Research,
2022; the method behind Optimizely's stats engine). For an estimate ``theta`` with (approximately normal)
variance ``V``, mixing a normal prior of variance ``tau2`` over the alternative gives the likelihood ratio

    Lambda = sqrt(V / (V + tau2)) * exp(tau2 * (theta - theta0)^2 / (2 V (V + tau2)))

and ``{theta0 : Lambda < 1/alpha}`` is a confidence sequence: the chance that it *ever* excludes the true value,
however often it is looked at while data arrives, is at most ``alpha``. Its half-width is returned below. The
guard evaluates it on every ingest and every worker tick without inflating its error rate, which a fixed-sample
z-test checked repeatedly would do (it would eventually fire on a healthy release).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def half_width(variance: float, tau2: float, alpha: float) -> float:
    v = max(variance, 1e-12)
    return math.sqrt(v * (v + tau2) / tau2 * (2 * math.log(1 / alpha) + math.log((v + tau2) / v)))


def _p(x: int, n: int) -> float:
    # Smoothed so that 0 errors in a small sample still has a variance (Agresti–Coull style +0.5/+1).
    return (x + 0.5) / (n + 1)


@dataclass
class Interval:
    estimate: float
    low: float
    high: float

    def as_json(self) -> dict[str, float]:
        return {"estimate": round(self.estimate, 5), "low": round(self.low, 5), "high": round(self.high, 5)}


def difference(x_c: int, n_c: int, x_p: int, n_p: int, *, alpha: float, tau: float) -> Interval:
    """Always-valid interval for p_candidate − p_production (two independent proportions)."""
    p_c, p_p = _p(x_c, n_c), _p(x_p, n_p)
    variance = p_c * (1 - p_c) / max(n_c, 1) + p_p * (1 - p_p) / max(n_p, 1)
    estimate = x_c / n_c - x_p / n_p if n_c and n_p else 0.0
    r = half_width(variance, tau * tau, alpha)
    return Interval(estimate, estimate - r, estimate + r)


def proportion(x: int, n: int, *, alpha: float, tau: float) -> Interval:
    """Always-valid interval for one proportion."""
    p = _p(x, n)
    estimate = x / n if n else 0.0
    r = half_width(p * (1 - p) / max(n, 1), tau * tau, alpha)
    return Interval(estimate, estimate - r, estimate + r)
