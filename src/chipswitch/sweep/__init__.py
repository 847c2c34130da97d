"""Design-space sweeps: a grid of models x chips x sizes x batches, one plan search per point.

`load_sweep_file` + `resolve` turn a sweep file into a `Sweep`; `run_sweep` computes its points
with an executor (`LocalExecutor`, or `RayExecutor` for a Ray cluster) into a Parquet table;
`report` ranks chips per model and draws cost-vs-time frontiers from that table.
"""

from chipswitch.sweep.executors import LocalExecutor, RayExecutor, make_executor
from chipswitch.sweep.grid import Point, Sweep, SweepFileError, load_sweep_file, resolve
from chipswitch.sweep.run import SweepRun, run_sweep
from chipswitch.sweep.schema import SweepFile

__all__ = [
    "LocalExecutor",
    "Point",
    "RayExecutor",
    "Sweep",
    "SweepFile",
    "SweepFileError",
    "SweepRun",
    "load_sweep_file",
    "make_executor",
    "resolve",
    "run_sweep",
]
