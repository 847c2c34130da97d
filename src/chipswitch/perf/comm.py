"""Collective communication costs on a two-tier network (scale-up domain, scale-out NICs).

Cost model: alpha-beta with ring bandwidth terms (Thakur, Rabenseifner & Gropp 2005,
section 4: a ring all-reduce takes 2(n-1) steps of latency alpha; NCCL's bus-bandwidth
convention, nccl-tests PERFORMANCE.md):
    all-reduce       2(n-1)/n * M / B + 2 * A
    all-gather / RS   (n-1)/n * M / B +     A                  (M = full, unsharded size)
    all-to-all        (n-1)/n * M / B +     A                  (M = bytes one rank holds)
where A is the latency of one pass over the group: (k-1) ring steps of `latency_up` among the
k members inside a scale-up domain plus log2(n/k) tree steps of `latency_out` between domains
(NCCL runs rings inside a node and trees across nodes at scale; Sanders, Speck & Traeff 2009
for the double binary tree). `latency_up` is NCCL's own cost of a ring step over NVLink
(data/engine_defaults.yaml), not fitted.
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
    """(bus bandwidth B/s, latency of one pass s) for groups of `size` workers `stride` apart.

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
    if inside.all():  # the common case (TP, CP, in-node groups): ring steps only
        return bw, sys.eff.latency_up * np.maximum(size - 1.0, 1.0)
    k = np.where(inside, size, per_domain)
    tree = np.ceil(np.log2(np.maximum(size / k, 1.0)))
    lat = sys.eff.latency_up * (k - 1.0) + sys.eff.latency_out * tree
    return bw, np.maximum(lat, sys.eff.latency_up)


def all_reduce(m: Arr, n: Arr, bw: Arr, lat: Arr) -> Arr:
    """Seconds for an all-reduce of `m` bytes over `n` workers (`lat`: one pass)."""
    n = np.asarray(n, dtype=np.float64)
    t = 2.0 * (n - 1.0) / n * m / bw + 2.0 * lat
    return np.where(n > 1, t, 0.0)


def all_gather(m: Arr, n: Arr, bw: Arr, lat: Arr) -> Arr:
    """Also the cost of a reduce-scatter of the same full size."""
    n = np.asarray(n, dtype=np.float64)
    t = (n - 1.0) / n * m / bw + lat
    return np.where(n > 1, t, 0.0)


all_to_all = all_gather


def p2p(m: Arr, bw: Arr, lat: Arr) -> Arr:
    return np.asarray(m / bw + lat, dtype=np.float64)
