"""Approximate sliced Wasserstein-2 distance (Nadjahi et al. 2021), without Monte Carlo projections.

In high dimension, projections of a distribution on random directions are close to Gaussian (a central
limit effect), so SW2 between X and Y is approximated in closed form from their means and their centred
second moments only: sqrt(|m_X - m_Y|^2 / d + (sqrt(E|X - m_X|^2 / d) - sqrt(E|Y - m_Y|^2 / d))^2).
This is dgm-eval's `sw_approx`, computed in float64.
"""

from __future__ import annotations

import math

from ganeval.errors import check
from ganeval.metrics.gaussian import ArrayLike, as_feature_matrix


def sw(x: ArrayLike, y: ArrayLike) -> float:
    """Approximate SW2 between the rows of x and those of y (symmetric; 0 for equal means and spreads)."""
    a = as_feature_matrix(x, "first features")
    b = as_feature_matrix(y, "second features", device=a.device)
    check(a.shape[1] == b.shape[1], f"the two feature sets differ in dimension ({a.shape[1]}, {b.shape[1]})")
    check(min(len(a), len(b)) >= 1, "the sliced Wasserstein distance needs rows on both sides")
    d = a.shape[1]
    mean_a, mean_b = a.mean(dim=0), b.mean(dim=0)
    mean_term = float(((mean_a - mean_b) ** 2).sum()) / d
    spread_a = float(((a - mean_a) ** 2).sum(dim=1).mean()) / d
    spread_b = float(((b - mean_b) ** 2).sum(dim=1).mean()) / d
    return math.sqrt(mean_term + (math.sqrt(spread_a) - math.sqrt(spread_b)) ** 2)
