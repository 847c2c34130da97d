"""Grounding the engine on real hardware: microbenchmarks, a calibration profile, and real
training steps compared with the engine's prediction.

- `profile`: the profile file schema (measured curves + environment).
- `apply`: profile -> engine `Efficiency` (and a `Chip` for a device not in the catalog).
- `compare`: the engine's prediction for a measured configuration, and the errors.
- `runtime`, `bench`, `model`, `train`: the PyTorch side (imported only when measuring;
  install with `pip install 'chipswitch[calibrate]'`).
"""

from chipswitch.calibrate.apply import (
    calibrated_chip,
    chip_from_profile,
    efficiency_from_profile,
    fit_kernel_overhead,
)
from chipswitch.calibrate.profile import CalibrationProfile, load_profile, save_profile

__all__ = [
    "CalibrationProfile",
    "calibrated_chip",
    "chip_from_profile",
    "efficiency_from_profile",
    "fit_kernel_overhead",
    "load_profile",
    "save_profile",
]
