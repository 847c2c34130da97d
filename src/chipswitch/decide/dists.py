"""Uncertain inputs: distributions written in a scenario file, and the Gaussian copula.

Every distribution is used through its inverse CDF (`ppf`), so one matrix of correlated
uniforms drives the Monte Carlo, the one-at-a-time tornado, the Sobol' design and the break-even
solver alike.

Forms accepted in a scenario (decision_research.md section 6.2 and 4.1-4.2):

- a number: a point value (`4.0e9`, or the string `"4e9"`, which YAML 1.1 reads as a string);
- `"lo to hi"`: a 90% interval, lognormal when `lo > 0`, normal otherwise (Squiggle's `to`
  and squigglepy's `sq.to`, section 4.1-4.2; Epoch's `lognorm_from_90_ci`, section 4.6);
- a mapping with `dist:` one of `uniform`, `normal`, `lognormal`, `pert`, `beta`.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, model_validator
from scipy import special

from chipswitch._schema import StrictModel

FloatArray = NDArray[np.float64]

Z95 = float(special.ndtri(0.95))  # 1.6449: a 90% interval spans +-Z95 standard deviations

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
INTERVAL_RE = re.compile(rf"^\s*({_NUM})\s+to\s+({_NUM})\s*$")
NUMBER_RE = re.compile(rf"^\s*{_NUM}\s*$")
INTERVAL_PATTERN = rf"^\s*{_NUM}(\s+to\s+{_NUM})?\s*$"


_GRID = np.concatenate(
    [
        np.geomspace(1e-12, 1e-3, 512, endpoint=False),
        np.linspace(1e-3, 1 - 1e-3, 16001),
        1 - np.geomspace(1e-3, 1e-12, 512)[1:],
    ]
)


@functools.lru_cache(maxsize=64)
def _beta_table(a: float, b: float) -> FloatArray:
    return np.asarray(special.betaincinv(a, b, _GRID), dtype=np.float64)


def _beta_ppf(a: float, b: float, u: FloatArray) -> FloatArray:
    """Inverse CDF of Beta(a, b), interpolated from 17,024 exact points (the beta inverse is
    iterative and ~50x slower than a table lookup; the table's error is below 1e-5). Always
    tabulated, so a value never depends on how many samples are drawn with it."""
    u = np.asarray(u, dtype=np.float64)
    return np.asarray(np.interp(u, _GRID, _beta_table(a, b)), dtype=np.float64)


MAX_MAGNITUDE = 1e30
"""Largest magnitude a scenario number may have: far above any money, FLOP or count the model
meets (1e30 FLOP is ~1e4 times today's largest runs), far below where products overflow."""


class _Dist(StrictModel):
    """Base: a one-dimensional distribution used through its inverse CDF."""

    @model_validator(mode="after")
    def _finite(self) -> _Dist:
        for x in self.stated():
            if not math.isfinite(x) or abs(x) > MAX_MAGNITUDE:
                raise ValueError(f"{x:g} is not a usable number (finite, |x| <= {MAX_MAGNITUDE:g})")
        return self

    def ppf(self, u: FloatArray) -> FloatArray:
        """Quantile function at probabilities `u` (array in (0, 1))."""
        raise NotImplementedError

    def cdf(self, x: float) -> float:
        """P(X <= x)."""
        raise NotImplementedError

    def stated(self) -> list[float]:
        """Numbers the user wrote that must lie inside the field's allowed range."""
        raise NotImplementedError

    @property
    def is_point(self) -> bool:
        return False

    def quantile(self, p: float) -> float:
        return float(self.ppf(np.array([p]))[0])

    def describe(self) -> str:
        raise NotImplementedError


class Point(_Dist):
    """A known number."""

    dist: Literal["point"] = "point"
    value: float

    def ppf(self, u: FloatArray) -> FloatArray:
        return np.full(np.shape(u), self.value)

    def cdf(self, x: float) -> float:
        return 1.0 if x >= self.value else 0.0

    def stated(self) -> list[float]:
        return [self.value]

    @property
    def is_point(self) -> bool:
        return True

    def describe(self) -> str:
        return f"{self.value:.4g}"


class Interval90(_Dist):
    """`lo to hi`: a 90% interval. Lognormal if lo > 0, else normal (section 4.1, Squiggle `to`).

    Lognormal: mu = (ln lo + ln hi)/2, sigma = (ln hi - ln lo)/(2 z_0.95), z_0.95 = 1.6449.
    Normal: mean = (lo + hi)/2, sd = (hi - lo)/(2 z_0.95).
    """

    dist: Literal["ci90"] = "ci90"
    lo: float
    hi: float

    @model_validator(mode="after")
    def _check(self) -> Interval90:
        if self.lo > self.hi:
            raise ValueError(f"interval '{self.lo:g} to {self.hi:g}' has lo > hi")
        return self

    @property
    def lognormal(self) -> bool:
        return self.lo > 0

    def _params(self) -> tuple[float, float]:
        if self.lognormal:
            a, b = math.log(self.lo), math.log(self.hi)
        else:
            a, b = self.lo, self.hi
        return (a + b) / 2.0, (b - a) / (2.0 * Z95)

    def ppf(self, u: FloatArray) -> FloatArray:
        m, s = self._params()
        x = m + s * special.ndtri(u)
        return np.exp(x) if self.lognormal else np.asarray(x, dtype=np.float64)

    def cdf(self, x: float) -> float:
        m, s = self._params()
        if self.lognormal:
            if x <= 0:
                return 0.0
            x = math.log(x)
        if s == 0:
            return 1.0 if x >= m else 0.0
        return float(special.ndtr((x - m) / s))

    def stated(self) -> list[float]:
        return [self.lo, self.hi]

    @property
    def is_point(self) -> bool:
        return self.lo == self.hi

    def describe(self) -> str:
        return f"{self.lo:.3g} to {self.hi:.3g}"


class Uniform(_Dist):
    dist: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _check(self) -> Uniform:
        if self.low > self.high:
            raise ValueError(f"uniform low ({self.low:g}) > high ({self.high:g})")
        return self

    def ppf(self, u: FloatArray) -> FloatArray:
        return self.low + (self.high - self.low) * np.asarray(u, dtype=np.float64)

    def cdf(self, x: float) -> float:
        if self.high == self.low:
            return 1.0 if x >= self.low else 0.0
        return min(1.0, max(0.0, (x - self.low) / (self.high - self.low)))

    def stated(self) -> list[float]:
        return [self.low, self.high]

    def describe(self) -> str:
        return f"uniform({self.low:.3g}, {self.high:.3g})"


class Normal(_Dist):
    dist: Literal["normal"]
    mean: float
    sd: float = Field(gt=0)

    def ppf(self, u: FloatArray) -> FloatArray:
        return np.asarray(self.mean + self.sd * special.ndtri(u), dtype=np.float64)

    def cdf(self, x: float) -> float:
        return float(special.ndtr((x - self.mean) / self.sd))

    def stated(self) -> list[float]:
        return [self.mean]

    def describe(self) -> str:
        return f"normal({self.mean:.3g}, sd {self.sd:.3g})"


class LogNormal(_Dist):
    """ln X ~ Normal(ln median, sigma)."""

    dist: Literal["lognormal"]
    median: float = Field(gt=0)
    sigma: float = Field(gt=0)

    def ppf(self, u: FloatArray) -> FloatArray:
        return np.asarray(np.exp(math.log(self.median) + self.sigma * special.ndtri(u)))

    def cdf(self, x: float) -> float:
        if x <= 0:
            return 0.0
        return float(special.ndtr((math.log(x) - math.log(self.median)) / self.sigma))

    def stated(self) -> list[float]:
        return [self.median]

    def describe(self) -> str:
        return f"lognormal(median {self.median:.3g}, sigma {self.sigma:.3g})"


class Pert(_Dist):
    """PERT(min, mode, max): a Beta(alpha, beta) on [min, max] with
    alpha = 1 + lambda (mode - min)/(max - min), beta = 1 + lambda (max - mode)/(max - min),
    lambda = 4 by default (Vose, *Risk Analysis*, 3rd ed., section 9.1.8)."""

    dist: Literal["pert"]
    min: float
    mode: float
    max: float
    lamb: float = Field(default=4.0, gt=0)

    @model_validator(mode="after")
    def _check(self) -> Pert:
        if not self.min <= self.mode <= self.max or self.min == self.max:
            raise ValueError(
                f"pert needs min <= mode <= max and min < max "
                f"(got {self.min:g}, {self.mode:g}, {self.max:g})"
            )
        return self

    def _ab(self) -> tuple[float, float]:
        span = self.max - self.min
        a = 1.0 + self.lamb * (self.mode - self.min) / span
        b = 1.0 + self.lamb * (self.max - self.mode) / span
        return a, b

    def ppf(self, u: FloatArray) -> FloatArray:
        a, b = self._ab()
        out = _beta_ppf(a, b, u)
        return np.asarray(self.min + (self.max - self.min) * out, dtype=np.float64)

    def cdf(self, x: float) -> float:
        a, b = self._ab()
        return float(
            special.betainc(a, b, min(max((x - self.min) / (self.max - self.min), 0.0), 1.0))
        )

    def stated(self) -> list[float]:
        return [self.min, self.mode, self.max]

    def describe(self) -> str:
        return f"pert({self.min:.3g}, {self.mode:.3g}, {self.max:.3g})"


class Beta(_Dist):
    """Beta(a, b) rescaled to [low, high]."""

    dist: Literal["beta"]
    a: float = Field(gt=0)
    b: float = Field(gt=0)
    low: float = 0.0
    high: float = 1.0

    @model_validator(mode="after")
    def _check(self) -> Beta:
        if self.low >= self.high:
            raise ValueError(f"beta low ({self.low:g}) must be below high ({self.high:g})")
        return self

    def ppf(self, u: FloatArray) -> FloatArray:
        out = _beta_ppf(self.a, self.b, u)
        return np.asarray(self.low + (self.high - self.low) * out, dtype=np.float64)

    def cdf(self, x: float) -> float:
        z = min(max((x - self.low) / (self.high - self.low), 0.0), 1.0)
        return float(special.betainc(self.a, self.b, z))

    def stated(self) -> list[float]:
        return [self.low, self.high]

    def describe(self) -> str:
        return f"beta({self.a:.3g}, {self.b:.3g}) on [{self.low:.3g}, {self.high:.3g}]"


Dist = Annotated[
    Point | Interval90 | Uniform | Normal | LogNormal | Pert | Beta,
    Field(discriminator="dist"),
]


def parse_value(raw: Any) -> Any:
    """Turn the short forms (a number, '4e9', 'lo to hi') into a distribution mapping.

    Mappings and already-built distributions pass through unchanged; anything else raises a
    ValueError that says which forms are accepted.
    """
    if isinstance(raw, bool):
        raise ValueError("expected a number, 'lo to hi' or a distribution, got a boolean")
    if isinstance(raw, int | float):
        return {"dist": "point", "value": float(raw)}
    if isinstance(raw, str):
        m = INTERVAL_RE.match(raw)
        if m:
            lo, hi = float(m.group(1)), float(m.group(2))
            if lo > hi:
                raise ValueError(f"'{raw.strip()}': lo ({lo:g}) > hi ({hi:g})")
            return {"dist": "ci90", "lo": lo, "hi": hi}
        if NUMBER_RE.match(raw):
            return {"dist": "point", "value": float(raw)}
        raise ValueError(f"'{raw}' is neither a number nor a 'lo to hi' interval")
    return raw


# -- Gaussian copula ---------------------------------------------------------------------------


def nearest_correlation(c: FloatArray) -> tuple[FloatArray, bool]:
    """A positive-definite correlation matrix near `c` (eigenvalues clipped at 1e-6, unit
    diagonal restored; one step of Higham 2002, IMA J. Numer. Anal. 22:329). Returns the
    matrix and whether it had to be changed."""
    try:
        np.linalg.cholesky(c)
        return c, False
    except np.linalg.LinAlgError:
        pass
    w, v = np.linalg.eigh(c)
    fixed = (v * np.clip(w, 1e-6, None)) @ v.T
    d = np.sqrt(np.diag(fixed))
    fixed = fixed / np.outer(d, d)
    np.fill_diagonal(fixed, 1.0)
    return fixed, True


def copula_uniforms(
    rng: np.random.Generator, n: int, k: int, corr: FloatArray | None = None, lhs: bool = False
) -> FloatArray:
    """n x k uniforms whose normal scores have correlation `corr` (Gaussian copula).

    z = e L^T with e ~ N(0, I) and L the Cholesky factor of `corr`; u = Phi(z). The copula
    keeps each marginal exactly while imposing the rank dependence (decision_research.md 6.5
    item 2; equivalent to squigglepy's Iman-Conover in the limit, section 4.2).
    With `lhs`, e is a Latin hypercube (McKay, Beckman & Conover 1979, Technometrics 21:239):
    column j takes Phi^-1((pi_j(i) + v_ij) / n), pi_j a random permutation, v ~ U(0, 1), so
    every 1/n stratum of every input holds one sample (exactly, for uncorrelated inputs).
    """
    # every step writes into the array it reads (n x k is large: fresh copies cost more than
    # the arithmetic); the values are those of the plain expressions in the comments
    if lhs:
        strata = rng.permuted(np.tile(np.arange(n, dtype=np.float64)[:, None], (1, k)), axis=0)
        e = rng.random((n, k))
        np.add(strata, e, out=e)  # strata + v
        e /= n
        np.clip(e, 1e-12, 1.0 - 1e-12, out=e)
        special.ndtri(e, out=e)
    else:
        e = rng.standard_normal((n, k))
    if corr is not None and not np.allclose(corr, np.eye(k)):
        e = e @ np.linalg.cholesky(corr).T
    u: FloatArray = special.ndtr(e, out=e)
    return np.clip(u, 1e-12, 1.0 - 1e-12, out=u)
