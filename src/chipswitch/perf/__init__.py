"""The performance engine: one estimator per cost term, combined in `estimate`.

- `system`: a cluster (chip x count) with its bandwidth tiers and the family efficiencies.
- `flops`: FLOP counts (model FLOPs for MFU, and executed FLOPs).
- `compute`: matmul, attention and memory-bound op times on one worker.
- `comm`: collective costs (TP/SP, PP, DP/ZeRO/FSDP, EP, CP).
- `memory`: bytes per worker by category.
- `efficiency`: the fitted per-family efficiencies (`data/calibration.yaml`) and the 80% interval.
- `workload`: the job (model, sequence, global batch, precision).
- `estimate`: the pure function (model, system, plans, options) -> Breakdown; it also
  assembles the pipeline bubble and the step time.
"""
