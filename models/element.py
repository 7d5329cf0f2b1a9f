"""The base class of every metamodel element."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, PrivateAttr
from pydantic.alias_generators import to_camel

from idocbridge.models.diagnostics import Location
from idocbridge.models.source import SourceNode

__all__ = ["Element"]


class Element(BaseModel):
    """A metamodel element: strict keys (camelCase in files), remembering the source it was read from.

    ``label`` names the kind of element in messages ("SAP alias"); ``xml_tag`` is its element name in
    the XML syntax when it appears as an item of a list.
    """

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        validate_assignment=False,
        use_attribute_docstrings=True,
    )

    label: ClassVar[str] = "element"
    xml_tag: ClassVar[str] = "element"

    _source: SourceNode | None = PrivateAttr(default=None)

    def __eq__(self, other: object) -> bool:
        # Equal by content: where an element was read from does not matter.
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Element)
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    @property
    def source(self) -> SourceNode | None:
        """The source node this element was read from (None when built in Python)."""
        return self._source

    def location(self, field: str | None = None, *, at_key: bool = False) -> Location | None:
        """Where this element, or one of its fields (given by Python name), was written."""
        node = self._source
        if node is None:
            return None
        if field is None:
            return node.location
        key = self.alias_of(field)
        child = node.child(key)
        if at_key or child is None:
            return node.key_location(key) if key in node.key_locations else node.location
        return child.location

    @classmethod
    def alias_of(cls, field: str) -> str:
        info = cls.model_fields[field]
        return info.alias or field

    def display_name(self) -> str:
        name = getattr(self, "name", None)
        return f"{self.label} '{name}'" if name else self.label

    def dump(self) -> dict[str, Any]:
        """The element as plain data, keeping only what was set (what a file would hold)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)
