"""Transformer model shapes and their parameter counts."""

from chipswitch.model.params import ParamCounts, count_params
from chipswitch.model.shape import MLASpec, ModelShape, MoESpec

__all__ = ["MLASpec", "ModelShape", "MoESpec", "ParamCounts", "count_params"]
