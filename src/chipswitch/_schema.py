"""Shared pydantic building blocks: strict models and sourced values."""

from __future__ import annotations

import math
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, model_validator

T = TypeVar("T", int, float)

Confidence = Literal["high", "medium", "low"]


class StrictModel(BaseModel):
    """Frozen model that rejects unknown keys (a misspelt field is an error, not a default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Sourced(StrictModel, Generic[T]):
    """A number with the sources it comes from.

    `value: null` means no source gives it; a note must then say why. It is never guessed.
    """

    value: T | None
    source: list[str]
    note: str | None = None
    confidence: Confidence | None = None

    @model_validator(mode="after")
    def _check(self) -> Sourced[T]:
        if self.value is None and not self.note:
            raise ValueError("an unset value needs a note saying why no source gives it")
        if self.value is not None and not self.source:
            raise ValueError("a value needs at least one source id")
        if self.value is not None and not math.isfinite(self.value):
            raise ValueError(f"must be a finite number, not {self.value}")
        if self.value is not None and self.value < 0:
            raise ValueError("must not be negative")
        return self
