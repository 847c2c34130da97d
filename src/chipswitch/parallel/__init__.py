"""Parallel plans: one plan as an object, many plans as arrays, and their enumeration."""

from chipswitch.parallel.plan import Plan, PlanArrays, Recompute

__all__ = ["Plan", "PlanArrays", "Recompute"]
