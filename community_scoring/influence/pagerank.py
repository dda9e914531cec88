"""Weighted PageRank on arrays: edges in, scores out. No Django.

Same model as networkx.pagerank (uniform personalization, dangling nodes' mass spread uniformly), but built
as one sparse matrix and stopped by a size-independent test: the L1 change of the score vector, which sums
to 1, must fall below an absolute `tol`. networkx stops when that change is below n * tol, which at a
million members allows an error large enough to reorder the top 100.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass
class PageRankResult:
    scores: np.ndarray  # float64, one per node, sums to 1 (empty when n == 0)
    iterations: int
    converged: bool
    error: float  # L1 change in the last iteration


def transition_matrix(src: np.ndarray, dst: np.ndarray, weight: np.ndarray, n: int) -> tuple[sp.csr_array, np.ndarray]:
    """The transposed, row-normalised transition matrix P^T (P[i, j] = w_ij / out_weight_i) and the dangling mask.

    Duplicate (src, dst) pairs are summed; edges with weight <= 0 are ignored; a node whose out-weight is 0
    is dangling.
    """
    src = np.asarray(src)
    dst = np.asarray(dst)
    weight = np.asarray(weight, dtype=np.float64)
    keep = weight > 0
    if not keep.all():
        src, dst, weight = src[keep], dst[keep], weight[keep]
    out_weight = np.bincount(src, weights=weight, minlength=n) if n else np.zeros(0)
    dangling = out_weight == 0
    inv = np.zeros(n)
    np.divide(1.0, out_weight, out=inv, where=~dangling)
    index_dtype = np.int32 if n < 2**31 - 1 else np.int64
    # Built row-major by source (rows are short, so summing duplicates is cheap) and then transposed: CSR -> CSC
    # of the transpose is one linear pass. Building by destination directly sorts the long rows of popular members.
    by_source = sp.csr_array(
        (weight * inv[src], (src.astype(index_dtype, copy=False), dst.astype(index_dtype, copy=False))), shape=(n, n)
    )
    return by_source.T.tocsr(), dangling


def pagerank(
    src: np.ndarray,
    dst: np.ndarray,
    weight: np.ndarray,
    n: int,
    *,
    damping: float = 0.85,
    tol: float = 1e-10,
    max_iter: int = 1000,
    x0: np.ndarray | None = None,
) -> PageRankResult:
    """PageRank of the n-node graph with edges src[k] -> dst[k] of weight weight[k].

    x_{k+1} = d * (P^T x_k + (sum of x_k over dangling nodes) / n) + (1 - d) / n, from x0 (normalised; uniform
    if None), until ||x_{k+1} - x_k||_1 < tol.
    """
    if not 0 < damping < 1:
        raise ValueError("damping must be in (0, 1)")
    if n == 0:
        return PageRankResult(np.zeros(0), 0, True, 0.0)
    matrix, dangling = transition_matrix(src, dst, weight, n)
    return pagerank_iterate(matrix, dangling, damping=damping, tol=tol, max_iter=max_iter, x0=x0)


def pagerank_iterate(
    matrix: sp.csr_array,
    dangling: np.ndarray,
    *,
    damping: float,
    tol: float,
    max_iter: int,
    x0: np.ndarray | None = None,
) -> PageRankResult:
    """Power iteration on a matrix from transition_matrix (split out so a caller can time build and iterate)."""
    n = matrix.shape[0]
    if n == 0:
        return PageRankResult(np.zeros(0), 0, True, 0.0)
    if x0 is None or len(x0) != n or not np.isfinite(x0).all() or x0.sum() <= 0:
        x = np.full(n, 1.0 / n)
    else:
        x = np.clip(np.asarray(x0, dtype=np.float64), 0, None)
        x /= x.sum()
    dangling_idx = np.flatnonzero(dangling)
    teleport = (1.0 - damping) / n
    err = np.inf
    diff = np.empty(n)
    for iteration in range(1, max_iter + 1):
        new = matrix @ x
        new *= damping
        new += damping * x[dangling_idx].sum() / n + teleport
        np.subtract(new, x, out=diff)
        err = float(np.abs(diff, out=diff).sum())
        x = new
        if err < tol:
            return PageRankResult(x, iteration, True, err)
    return PageRankResult(x, max_iter, False, err)
