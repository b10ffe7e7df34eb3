"""Frechet (Inception) Distance between two Gaussians fitted to features.

FID = |mu_a - mu_b|^2 + tr(Sigma_a) + tr(Sigma_b) - 2 tr(sqrt(Sigma_a Sigma_b)).
The only hard part is the trace of the matrix square root; two ways are offered so results can be
matched to either reference implementation.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import scipy.linalg.lapack
import torch

from ganeval.errors import StatisticsError, check
from ganeval.metrics.gaussian import ArrayLike, GaussianStats, gaussian_stats, resolve_device

METHODS = ("eig", "sqrtm")
# pytorch-fid's diagonal offset for a singular covariance product.
SQRTM_EPS = 1e-6
# Relative size of imaginary parts (sqrtm) above which the covariances cannot both be PSD.
IMAG_TOLERANCE = 1e-3
# Relative size of a negative eigenvalue (eig) that round-off cannot explain.
PSD_TOLERANCE = 1e-6
# Negative FIDs closer to zero than this fraction of the positive terms are round-off.
NEGATIVE_TOLERANCE = 1e-6
# What round-off in the statistics and the eigensolver can add to FID, relative to tr(Sigma_a) + tr(Sigma_b).
ROUND_OFF_BOUND = 1e-9


class RankDeficientWarning(UserWarning):
    """A covariance estimated from n <= d samples is singular, so FID is biased and unstable."""


def trace_sqrt_product_eig(sigma_a: np.ndarray, sigma_b: np.ndarray, device: torch.device) -> float:
    """tr(sqrt(Sigma_a Sigma_b)) from the eigenvalues of the product, computed in float64 torch.

    For any factor Sigma_a = U U^T, Sigma_a Sigma_b has the nonzero eigenvalues of the symmetric U^T Sigma_b U,
    which are real and >= 0 for PSD covariances: the trace of the root is the sum of their square roots.
    U is the Cholesky factor when Sigma_a is positive definite (n > d: one Cholesky and one `eigvalsh`, a
    fraction of a general eigensolver's time); when it has rank r < d (n <= d), a d x r factor from a
    pivoted Cholesky on the CPU, or the eigenvectors of its r nonzero eigenvalues scaled by their roots,
    so the second eigenproblem is only r x r. Eigenvalues below
    the round-off floor d * eps * max count as exact zeros. That matters when n <= d: a general
    eigensolver scatters the thousands of zero eigenvalues of a rank-deficient product into tiny complex
    values whose roots add up, so identical inputs of a few images give FID -1e-3 in torch-fidelity and
    pytorch-fid. A clearly negative eigenvalue (below -1e-6 of the largest) cannot come from round-off:
    a covariance is not PSD.
    """
    a = torch.from_numpy(np.ascontiguousarray(sigma_a)).to(device=device, dtype=torch.float64)
    b = torch.from_numpy(np.ascontiguousarray(sigma_b)).to(device=device, dtype=torch.float64)
    a, b = (a + a.T) / 2, (b + b.T) / 2
    floor = a.shape[0] * torch.finfo(torch.float64).eps
    factor, info = torch.linalg.cholesky_ex(a)
    if int(info) != 0 and device.type == "cpu":  # singular (n <= d): a pivoted Cholesky finds its rank
        factor = _low_rank_factor(np.ascontiguousarray(sigma_a, dtype=np.float64))
        info = 0 if factor is not None else 1
    if int(info) != 0:  # singular or not PSD: the eigenvectors that carry Sigma_a's range
        w_a, v_a = torch.linalg.eigh(a)
        _check_psd(w_a, "first")
        kept = w_a > floor * w_a.abs().max()
        factor = v_a[:, kept] * w_a[kept].sqrt()
    if factor.shape[1] == 0:  # Sigma_a = 0 (a generator that collapsed to one image): the product is 0
        return 0.0
    m = factor.T @ b @ factor
    w = torch.linalg.eigvalsh((m + m.T) / 2)
    _check_psd(w, "second")
    w = torch.where(w > floor * w.abs().max(), w, torch.zeros_like(w))
    return float(w.sqrt().sum())


def _low_rank_factor(sigma: np.ndarray) -> torch.Tensor | None:
    """F (d x r) with F F^T = sigma, from LAPACK's pivoted Cholesky (a tenth of an eigendecomposition's time at
    r << d); None when it does not reproduce sigma (not PSD beyond round-off), for the caller to decide."""
    upper, pivots, rank, _ = scipy.linalg.lapack.dpstrf((sigma + sigma.T) / 2, lower=0)
    factor = np.zeros((sigma.shape[0], rank))
    factor[pivots - 1] = np.triu(upper)[:rank].T
    residual = np.abs(factor @ factor.T - sigma).max()
    return torch.from_numpy(factor) if residual <= PSD_TOLERANCE * np.abs(sigma).max() else None


def _check_psd(eigenvalues: torch.Tensor, which: str) -> None:
    if eigenvalues.numel() == 0:
        return
    largest = float(eigenvalues.abs().max())
    lowest = float(eigenvalues.min())
    check(
        lowest >= -PSD_TOLERANCE * largest,
        f"the {which} covariance is not positive semi-definite (eigenvalue {lowest:.3g}, largest {largest:.3g}); "
        "the statistics are corrupt",
        StatisticsError,
    )


def _sqrtm_trace(product: np.ndarray) -> tuple[float, bool]:
    """Trace of scipy's principal square root, and whether the root was finite."""
    with warnings.catch_warnings():
        # pytorch-fid asks scipy not to report conditioning; the finiteness check below covers it.
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm(product)
    if not np.isfinite(root).all():
        return float("nan"), False
    if np.iscomplexobj(root):
        worst = float(np.abs(np.diagonal(root).imag).max())
        check(
            worst <= IMAG_TOLERANCE,
            f"matrix square root has imaginary diagonal up to {worst:.3g}; "
            "a covariance is probably not positive semi-definite",
            StatisticsError,
        )
        root = root.real
    return float(np.trace(root)), True


def trace_sqrt_product_sqrtm(sigma_a: np.ndarray, sigma_b: np.ndarray) -> float:
    """tr(sqrt(Sigma_a Sigma_b)) via scipy.linalg.sqrtm, following pytorch-fid 0.3.0.

    A singular product can make the root non-finite; then, like pytorch-fid, eps*I is added to both
    covariances and the root is taken again.
    """
    trace, finite = _sqrtm_trace(sigma_a @ sigma_b)
    if finite:
        return trace
    offset = np.eye(sigma_a.shape[0]) * SQRTM_EPS
    trace, finite = _sqrtm_trace((sigma_a + offset) @ (sigma_b + offset))
    check(finite, "matrix square root of the covariance product is not finite", StatisticsError)
    return trace


def frechet_distance(
    a: GaussianStats,
    b: GaussianStats,
    method: str = "eig",
    device: str | torch.device | None = None,
    names: tuple[str, str] = ("first", "second"),
) -> float:
    """FID between two sets of statistics; never negative, never NaN.

    `method="eig"` takes the eigenvalues of Sigma_a Sigma_b in float64 torch (on `device`: CUDA when
    available) through the symmetric matrix similar to it (see `trace_sqrt_product_eig`): it equals
    torch-fidelity 0.4.0 and pytorch-fid 0.3.0 to ~1e-14 when n > d and stays exact when n <= d.
    `method="sqrtm"` is pytorch-fid's scipy.linalg.sqrtm (CPU). Negative results within round-off
    become 0.0; a covariance that is not PSD raises StatisticsError.

    Identical statistics give exactly 0 by definition, on every machine. Otherwise the result carries the
    eigensolver's round-off, which depends on the machine's LAPACK: for statistics that differ only by
    round-off (the same images in another order) it stays below `ROUND_OFF_BOUND` x (tr Sigma_a + tr Sigma_b).
    """
    check(method in METHODS, f"unknown FID method {method!r}; expected one of {', '.join(METHODS)}")
    check(
        a.dim == b.dim,
        f"cannot compare statistics of dimension {a.dim} with statistics of dimension {b.dim}",
        StatisticsError,
    )
    for name, stats in zip(names, (a, b), strict=True):
        if stats.n <= stats.dim:
            warnings.warn(
                f"the {name} statistics come from n={stats.n} samples in d={stats.dim} dimensions (n <= d): "
                "the covariance is rank-deficient, so FID is biased and unstable; use more than d images",
                RankDeficientWarning,
                stacklevel=2,
            )
    if np.array_equal(a.mu, b.mu) and np.array_equal(a.sigma, b.sigma):
        return 0.0
    if method == "eig":
        tr_covmean = trace_sqrt_product_eig(a.sigma, b.sigma, resolve_device(device))
    else:
        tr_covmean = trace_sqrt_product_sqrtm(a.sigma, b.sigma)
    diff = a.mu - b.mu
    positive = float(diff @ diff + np.trace(a.sigma) + np.trace(b.sigma))
    fid = positive - 2.0 * tr_covmean
    check(bool(np.isfinite(fid)), f"FID is not finite ({fid}); the statistics are corrupt", StatisticsError)
    if fid < 0:
        check(
            fid > -NEGATIVE_TOLERANCE * positive,
            f"FID came out negative ({fid:.6g}) beyond round-off; a covariance is probably not PSD",
            StatisticsError,
        )
        fid = 0.0
    return fid


def fid_from_features(features_a: ArrayLike, features_b: ArrayLike, method: str = "eig") -> float:
    """FID between two (n, d) feature matrices."""
    check(method in METHODS, f"unknown FID method {method!r}; expected one of {', '.join(METHODS)}")
    return frechet_distance(gaussian_stats(features_a), gaussian_stats(features_b), method=method)
