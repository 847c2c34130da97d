"""Accelerators and priced cloud offerings: file schemas and SI specs."""

from chipswitch.hardware.spec import Chip, Offering, Price

__all__ = ["Chip", "Offering", "Price"]
