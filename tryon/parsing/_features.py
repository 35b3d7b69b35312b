"""Building blocks of the parsers: colour models of pixel samples, and outlines moved to colour edges.

Everything here works on small windows (a few thousand pixels) and keeps the number of array passes low: sample
statistics through OpenCV, per-pixel quadratic forms through ``cv2.transform`` (numpy's broadcasting over a short
last axis is slow), outlines as precomputed index tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

__all__ = [
    "ColourHistogram",
    "Discriminant",
    "Edge",
    "Gaussian",
    "Outline",
    "colour_bins",
    "covariance",
    "edge_offsets",
    "edge_table",
    "sample",
    "sigmoid",
    "smooth",
]

_COVAR_FLAGS = cv2.COVAR_NORMAL | cv2.COVAR_ROWS | cv2.COVAR_SCALE


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function, safe for large arguments."""
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


def sample(feats: np.ndarray, mask: np.ndarray, limit: int = 400) -> np.ndarray:
    """The rows of an HxWxC feature image where ``mask`` (HxW bool) is set, as an NxC float32 array.

    Large samples are thinned evenly to about ``limit`` rows: plenty for a colour model, and cheaper.
    """
    idx = np.flatnonzero(mask)
    if len(idx) > 2 * limit:
        idx = idx[:: len(idx) // limit]
    return feats.reshape(-1, feats.shape[2]).take(idx, axis=0)


def _moments(rows: np.ndarray, floor: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    cov, mean = cv2.calcCovarMatrix(rows, None, _COVAR_FLAGS)
    return mean.reshape(-1), cov + np.diag(np.asarray(floor, np.float64))


def covariance(rows: np.ndarray) -> np.ndarray:
    """The sample covariance (float64, ``n - 1`` in the denominator, as ``np.cov``) of an NxC array of rows.

    OpenCV's, not ``np.cov``: numpy's goes through a BLAS matrix product, and for thousands of rows OpenBLAS wakes
    its thread pool, whose threads then spin in ``sched_yield`` and take the cores the live loop needs (a third of
    the CPU time on 2 cores, measured with ``perf``).
    """
    n = rows.shape[0]
    cov, _ = cv2.calcCovarMatrix(np.ascontiguousarray(rows, np.float32), None, _COVAR_FLAGS)
    return np.asarray(cov, np.float64) * (n / max(n - 1, 1))


@dataclass(frozen=True)
class Gaussian:
    """A colour Gaussian fitted to pixel samples, for per-pixel squared Mahalanobis distances.

    ``whiten`` (C x (C + 1), for ``cv2.transform``) maps a pixel ``x`` to ``W (x - mean)`` with ``W^T W`` the
    inverse covariance, so the squared distance is the squared length of the result.
    """

    whiten: np.ndarray
    logdet: float

    @classmethod
    def fit(cls, rows: np.ndarray, floor: Sequence[float], min_count: int = 12) -> Gaussian | None:
        """The Gaussian of ``rows`` (NxC) with ``floor`` added to the variances; None with too few rows."""
        if rows.shape[0] < min_count:
            return None
        mean, cov = _moments(rows, floor)
        det = cv2.determinant(cov)
        if det <= 0:
            return None
        w = np.linalg.cholesky(cv2.invert(cov)[1]).T  # W^T W = cov^-1
        return cls(np.hstack([w, -(w @ mean)[:, None]]).astype(np.float32), float(np.log(det)))

    def d2(self, feats: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distances of an HxWxC feature image (float32)."""
        y = cv2.transform(feats, self.whiten)
        cv2.multiply(y, y, dst=y)
        return cv2.transform(y, np.ones((1, y.shape[2]), np.float32))


@dataclass(frozen=True)
class Discriminant:
    """Fisher's discriminant of two pixel samples: a linear map scaled so the inside mean is 1, the outside one 0."""

    weights: np.ndarray  # 1 x (C + 1) float32, for cv2.transform

    @classmethod
    def fit(
        cls, feats: np.ndarray, inside: np.ndarray, outside: np.ndarray, floor: Sequence[float], min_count: int = 12
    ) -> Discriminant | None:
        """The discriminant of the pixels of ``feats`` (HxWxC) under the masks ``inside`` and ``outside``.

        Returns:
            None when a sample is too small or the two do not differ.
        """
        a = sample(feats, inside)
        b = sample(feats, outside)
        if a.shape[0] < min_count or b.shape[0] < min_count:
            return None
        ma, ca = _moments(a, floor)
        mb, cb = _moments(b, floor)
        _, inv = cv2.invert(0.5 * (ca + cb))
        w = inv @ (ma - mb)
        span = float(w @ (ma - mb))
        if span <= 1e-6:
            return None
        w /= span
        return cls(np.append(w, -(w @ mb)).reshape(1, -1).astype(np.float32))

    def map(self, feats: np.ndarray) -> np.ndarray:
        """The discriminant of every pixel of an HxWxC feature image (float32)."""
        return cv2.transform(feats, self.weights)


# -- outlines ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edge:
    """How an outline moves to a colour edge, in face widths.

    Attributes:
        reach: how far along its normals, each way, the edge is looked for.
        mid: the level of the feature (0 = the outside class's mean, 1 = the inside's) where the edge lies.
        pull: the cost of moving away from the landmarks, per ``reach``, against the feature's evidence.
        inward: the furthest an edge may move inward.
        outward: the furthest it may move outward.
    """

    reach: float
    mid: float
    pull: float
    inward: float
    outward: float


@lru_cache(maxsize=32)
def edge_table(runs: tuple[tuple[Edge, int], ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-point ``(mid, -inward, outward)`` columns for consecutive runs of points sharing an :class:`Edge`."""
    mid = np.concatenate([np.full(n, e.mid, np.float32) for e, n in runs])[:, None]
    lo = np.concatenate([np.full(n, -e.inward, np.float32) for e, n in runs])
    hi = np.concatenate([np.full(n, e.outward, np.float32) for e, n in runs])
    return mid, lo, hi


@dataclass(frozen=True)
class Outline:
    """Landmark chains with the midpoint of every segment inserted, and each point's neighbours, precomputed.

    Point ``i`` of the outline is the mean of landmarks ``a[i]`` and ``b[i]``; ``chains`` chains of equal length
    are stacked one after the other.
    """

    a: np.ndarray
    b: np.ndarray
    prev: np.ndarray
    nxt: np.ndarray
    chains: int

    @classmethod
    def of(cls, chains: np.ndarray, closed: bool) -> Outline:
        """The outline of ``chains`` (``k x n`` landmark indices), each closed into a ring or left open."""
        k, n = chains.shape
        m = 2 * n if closed else 2 * n - 1
        a = np.empty((k, m), np.intp)
        b = np.empty((k, m), np.intp)
        a[:, 0::2] = b[:, 0::2] = chains
        a[:, 1 : 2 * n - 1 : 2] = chains[:, :-1]
        b[:, 1 : 2 * n - 1 : 2] = chains[:, 1:]
        if closed:
            a[:, -1], b[:, -1] = chains[:, -1], chains[:, 0]
        i = np.arange(m)
        prev = (i - 1) % m if closed else np.maximum(i - 1, 0)
        nxt = (i + 1) % m if closed else np.minimum(i + 1, m - 1)
        base = (np.arange(k) * m)[:, None]
        return cls(a.ravel(), b.ravel(), (prev + base).ravel(), (nxt + base).ravel(), k)

    def points(self, pts: np.ndarray) -> np.ndarray:
        """The outline's points (``k*m x 2``) for landmark points ``pts``."""
        return (pts[self.a] + pts[self.b]) * np.float32(0.5)

    def normals(self, p: np.ndarray, away_from: np.ndarray | None = None) -> np.ndarray:
        """Unit normals at the outline's points ``p``, each chain's pointing away from a point.

        Args:
            p: the points, from :meth:`points`.
            away_from: one point per chain (``k x 2``); by default each chain's centroid.
        """
        t = p[self.nxt] - p[self.prev]
        n = t[:, ::-1] * np.array([1, -1], np.float32)
        n /= np.maximum(np.sqrt((n * n).sum(axis=1, keepdims=True)), 1e-6)
        pk = p.reshape(self.chains, -1, 2)
        nk = n.reshape(pk.shape)
        center = pk.mean(axis=1, keepdims=True) if away_from is None else away_from[:, None]
        side = ((pk - center) * nk).sum(axis=(1, 2))
        return (nk * np.where(side < 0, -1, 1).astype(np.float32)[:, None, None]).reshape(-1, 2)


_BINOMIAL = np.array([1, 4, 6, 4, 1], np.float32) / 16


def smooth(v: np.ndarray, closed: bool = True) -> np.ndarray:
    """Values along polylines (the last axis) smoothed with a 5-tap binomial, wrapping around closed rings."""
    n = v.shape[-1]
    if n < 5:
        return v
    if closed:
        padded = np.concatenate([v[..., -2:], v, v[..., :2]], axis=-1)
    else:
        padded = np.concatenate([v[..., :1], v[..., :1], v, v[..., -1:], v[..., -1:]], axis=-1)
    k = _BINOMIAL
    return (
        k[0] * (padded[..., :n] + padded[..., 4:])
        + k[1] * (padded[..., 1 : n + 1] + padded[..., 3 : n + 3])
        + k[2] * padded[..., 2 : n + 2]
    ).astype(np.float32)


def edge_offsets(
    feat: np.ndarray,
    ring: np.ndarray,
    normal: np.ndarray,
    reach: float,
    mid: float | np.ndarray,
    pull: float = 0.0,
    step: float = 0.5,
) -> np.ndarray:
    """Where, along each normal, ``feat`` (high inside, low outside) best splits into inside then outside.

    For each point of ``ring`` the profile of ``feat`` is sampled from ``-reach`` to ``reach`` pixels along its
    normal. The split minimises the evidence against it (inside samples below ``mid``, outside samples above it,
    each weighted by how far) plus ``pull`` times its distance from the ring in units of ``reach``. ``mid`` may
    be one level or a column of levels, one per point.

    Returns:
        The offsets in pixels along the normals (positive outward).
    """
    t = np.arange(-reach, reach + 1e-6, step, dtype=np.float32)
    xs = ring[:, 0:1] + normal[:, 0:1] * t
    ys = ring[:, 1:2] + normal[:, 1:2] * t
    prof = cv2.remap(feat, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    prof -= mid
    # The split before sample j costs sum(max(-prof, 0) over 0..j-1) + sum(max(prof, 0) over j..n-1), that is
    # sum(max(prof, 0)), the same for every j, less the sum of prof over 0..j-1: the split with the largest
    # ``gain`` (that sum less the pull) is the cheapest.
    gain = np.empty((prof.shape[0], prof.shape[1] + 1), np.float32)
    gain[:, 0] = 0
    np.cumsum(prof, axis=1, out=gain[:, 1:])
    splits = np.append(t - step / 2, t[-1] + step / 2)
    gain -= (pull / max(reach, 1e-6)) * np.abs(splits)
    return splits[np.argmax(gain, axis=1)]


# -- colour histograms -----------------------------------------------------------------------------------------------

# Lab colour histograms: 32 bins on each chroma axis and 16 of lightness (uint8 Lab, as OpenCV gives it), laid out as
# a 32x32 image of 16 channels so that OpenCV blurs it.
_AB_SHIFT, _L_SHIFT = 3, 4
_AB_BINS, _L_BINS = 256 >> _AB_SHIFT, 256 >> _L_SHIFT
_BINS = _AB_BINS * _AB_BINS * _L_BINS
_AB_TAPS = np.array([1.0, 2.0, 1.0], np.float32) / 4.0
_L_TAPS = np.array([1.0, 4.0, 6.0, 4.0, 1.0], np.float32) / 16.0
_ONE = np.ones(1, np.float32)


def colour_bins(lab: np.ndarray) -> np.ndarray:
    """The :class:`ColourHistogram` bin of every pixel of a uint8 Lab image (HxW int32)."""
    q = (lab[..., 1] >> _AB_SHIFT).astype(np.int32) << 9
    q |= (lab[..., 2] >> _AB_SHIFT).astype(np.int32) << 4
    q |= (lab[..., 0] >> _L_SHIFT).astype(np.int32)
    return q


class ColourHistogram:
    """A smoothed Lab colour density learned from pixel samples, against a uniform density (log, per bin).

    Samples and lookups are bin indices from :func:`colour_bins`.
    """

    def __init__(self, bins: np.ndarray) -> None:
        counts = np.bincount(bins, minlength=_BINS).astype(np.float32)
        border = cv2.BORDER_CONSTANT
        h = cv2.sepFilter2D(counts.reshape(_AB_BINS, _AB_BINS, _L_BINS), -1, _AB_TAPS, _AB_TAPS, borderType=border)
        # Lightness varies more than chroma within a class (shading): blur it over two bins each way.
        h = cv2.sepFilter2D(h.reshape(-1, _L_BINS), -1, _L_TAPS, _ONE, borderType=border).reshape(-1)
        # A small uniform share: colours never seen keep some likelihood.
        self.density = h * np.float32(0.97 * _BINS / max(float(h.sum()), 1e-6)) + np.float32(0.03)
        self.log_density = np.log(self.density)

    @classmethod
    def of(cls, q: np.ndarray, seed: np.ndarray, min_seeds: int) -> ColourHistogram | None:
        """The histogram of the seed pixels, or None with fewer than ``min_seeds`` of them."""
        return cls(q[seed]) if np.count_nonzero(seed) >= min_seeds else None

    def unlike(self, q: np.ndarray, seed: np.ndarray, level: float = 0.05) -> np.ndarray:
        """Pixels whose colour is rare among the seed pixels (below ``level`` times their median density)."""
        d = self.density[q]
        return d < level * float(np.median(d[seed]))
