"""Planning: the vectorised plan search, throughput for a job, cost to train and chip comparison.

- `search`: every valid plan for (model, cluster) evaluated as arrays; the best and the Pareto set.
- `throughput`: the best plan's tokens/s for a model and chip (used by `decide`).
- `cost`: chip-hours, days, USD and energy to train a token budget.
- `compare`: one job across chips and offerings, priced.
"""
