"""Validation: predict published measured runs (`validate`) and fit the per-family calibration
from them (`fit`, driven by `scripts/fit_calibration.py`)."""
