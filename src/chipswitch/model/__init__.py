"""Transformer model shapes and their parameter counts."""

from chipswitch.model.params import ParamCounts, count_params
from chipswitch.model.shape import MLASpec, ModelShape, MoESpec

__all__ = ["MLASpec", "MoESpec", "ModelShape", "ParamCounts", "count_params"]
