"""The outcome of a rule that turns a request down."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .enums import RejectionCode


@dataclass(frozen=True)
class Rejection:
    """A rejected request: a stable code plus the values its message needs.

    `messages.render(rejection.code, lang, **rejection.params)` turns it into text.
    """

    code: RejectionCode
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
