"""Collective communication costs on a two-tier network (scale-up domain, scale-out NICs).

Cost model: alpha-beta with ring/tree bandwidth terms (Thakur, Rabenseifner & Gropp 2005;
NCCL's bus-bandwidth convention, nccl-tests PERFORMANCE.md):
    all-reduce       2(n-1)/n * M / B + 2*log2(n) * alpha
    all-gather / RS   (n-1)/n * M / B +   log2(n) * alpha      (M = full, unsharded size)
    all-to-all        (n-1)/n * M / B +   log2(n) * alpha      (M = bytes one rank holds)
A group of `n` workers `stride` apart stays on the scale-up fabric when n*stride fits a
domain; otherwise k = domain/stride members share each domain and the inter-domain part runs
over k NICs at once (hierarchical collectives), capped by the scale-up bandwidth.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from chipswitch.perf.system import System

Arr = NDArray[Any]  # float arrays; numpy stubs cannot type mixed scalar/array math


def group_link(size: Arr, stride: Arr, sys: System, pattern: str = "collective") -> tuple[Arr, Arr]:
    """(bus bandwidth B/s, per-step latency s) for groups of `size` workers `stride` apart.

    `pattern` says how traffic leaves a domain:
    - "collective" (all-reduce, all-gather, reduce-scatter): hierarchical, the k members of
      a domain drive k NICs at once;
    - "ring" (context-parallel ring, pipeline sends): point to point, the slowest hop is one
      worker's NIC;
    - "all_to_all": each worker sends the (n - k)/n of its data bound for other domains
      through its own NIC (expressed as an equivalent bus bandwidth for `all_to_all`).
    """
    size = np.asarray(size, dtype=np.float64)
    stride = np.asarray(stride, dtype=np.float64)
    up = sys.scale_up_bandwidth * sys.eff.collective_up
    nic = sys.scale_out_bandwidth * sys.eff.collective_out
    inside = size * stride <= sys.domain_workers
    per_domain = np.clip(np.floor(sys.domain_workers / stride), 1.0, size)
    if pattern == "collective":
        out = np.minimum(up, per_domain * nic)
    elif pattern == "ring":
        out = np.minimum(up, nic)
    elif pattern == "all_to_all":
        crossing = np.maximum(size - per_domain, 1.0) / np.maximum(size - 1.0, 1.0)
        out = np.minimum(up, nic / crossing)
    else:
        raise ValueError(f"unknown traffic pattern {pattern!r}")
    bw = np.where(inside, up, out)
    lat = np.where(inside, sys.eff.latency_up, sys.eff.latency_out)
    return bw, lat


def _steps(n: Arr) -> Arr:
    return np.log2(np.maximum(n, 1.0))


def all_reduce(m: Arr, n: Arr, bw: Arr, lat: Arr) -> Arr:
    n = np.asarray(n, dtype=np.float64)
    t = 2.0 * (n - 1.0) / n * m / bw + 2.0 * _steps(n) * lat
    return np.where(n > 1, t, 0.0)


def all_gather(m: Arr, n: Arr, bw: Arr, lat: Arr) -> Arr:
    """Also the cost of a reduce-scatter of the same full size."""
    n = np.asarray(n, dtype=np.float64)
    t = (n - 1.0) / n * m / bw + _steps(n) * lat
    return np.where(n > 1, t, 0.0)


all_to_all = all_gather


def p2p(m: Arr, bw: Arr, lat: Arr) -> Arr:
    return np.asarray(m / bw + lat, dtype=np.float64)
