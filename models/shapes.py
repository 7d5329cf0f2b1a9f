"""How each metamodel class is laid out, derived from its pydantic fields.

The XML syntax, the XSD export and error messages all follow these shapes, so the two syntaxes
cannot drift apart: a scalar field is an XML attribute, a nested element a child element, and a list
of elements a wrapper element holding one item element per entry.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin

from pydantic.fields import FieldInfo

from idocbridge.models.element import Element

__all__ = ["FieldShape", "Shape", "fields_of", "item_class_for_tag", "scalar_base"]


class Shape(StrEnum):
    SCALAR = "scalar"
    TEXT_LIST = "text-list"  # a list of names; in XML a blank-separated attribute
    ELEMENT = "element"
    LIST = "list"


@dataclass(frozen=True)
class FieldShape:
    """One field: Python name, file key, shape, and for elements the classes it may hold."""

    name: str
    key: str
    shape: Shape
    info: FieldInfo
    classes: tuple[type[Element], ...] = ()
    discriminator: str | None = None
    scalar: Any = None  # the scalar annotation (str, int, bool or a Literal)

    @property
    def required(self) -> bool:
        return self.info.is_required()

    def item_tags(self) -> dict[str, type[Element]]:
        """XML item tag -> class, for list fields (the discriminator value for unions)."""
        if self.discriminator is None:
            return {cls.xml_tag: cls for cls in self.classes}
        return {_literal_value(cls, self.discriminator): cls for cls in self.classes}


def _literal_value(cls: type[Element], field: str) -> str:
    annotation = cls.model_fields[field].annotation
    (value,) = get_args(annotation)
    return str(value)


def _strip_optional(annotation: Any) -> Any:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(args) == 1:
            return _strip_optional(args[0])
        return typing.Union[tuple(args)]  # noqa: UP007 - rebuilt dynamically
    if origin is typing.Annotated:
        return _strip_optional(get_args(annotation)[0])
    return annotation


def _element_classes(annotation: Any) -> tuple[type[Element], ...]:
    annotation = _strip_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, Element):
        return (annotation,)
    if get_origin(annotation) in (Union, types.UnionType):
        found = tuple(arg for arg in get_args(annotation) if isinstance(arg, type) and issubclass(arg, Element))
        if len(found) == len(get_args(annotation)):
            return found
    return ()


def _discriminator(annotation: Any) -> str | None:
    if get_origin(annotation) is typing.Annotated:
        for meta in get_args(annotation)[1:]:
            value = getattr(meta, "discriminator", None)
            if isinstance(value, str):
                return value
    return None


@cache
def fields_of(cls: type[Element]) -> tuple[FieldShape, ...]:
    """The shapes of ``cls``'s fields, in declaration order."""
    result = []
    for name, info in cls.model_fields.items():
        key = info.alias or name
        annotation = info.annotation
        stripped = _strip_optional(annotation)
        if get_origin(stripped) is list:
            (item,) = get_args(stripped)
            if _strip_optional(item) is str:
                result.append(FieldShape(name, key, Shape.TEXT_LIST, info, scalar=str))
                continue
            classes = _element_classes(item)
            if not classes:
                raise TypeError(f"{cls.__name__}.{name}: only lists of elements or of text have an XML shape")
            result.append(FieldShape(name, key, Shape.LIST, info, classes, _discriminator(item)))
            continue
        classes = _element_classes(stripped)
        if classes:
            result.append(FieldShape(name, key, Shape.ELEMENT, info, classes))
        else:
            result.append(FieldShape(name, key, Shape.SCALAR, info, scalar=stripped))
    return tuple(result)


def field_by_key(cls: type[Element], key: str) -> FieldShape | None:
    return next((shape for shape in fields_of(cls) if shape.key == key), None)


def item_class_for_tag(shape: FieldShape, tag: str) -> type[Element] | None:
    return shape.item_tags().get(tag)


def scalar_base(shape: FieldShape) -> type | tuple[str, ...]:
    """``str``, ``int`` or ``bool``; or the allowed values of a Literal."""
    annotation = shape.scalar
    if get_origin(annotation) is Literal:
        return tuple(str(arg) for arg in get_args(annotation))
    if annotation in (str, int, bool):
        assert isinstance(annotation, type)
        return annotation
    raise TypeError(f"field {shape.name}: unsupported scalar annotation {annotation!r}")


def class_at(root: type[Element], path: tuple[str | int, ...], plain: object) -> type[Element] | None:
    """The metamodel class of the mapping at ``path`` (file keys and list indices) in ``plain`` data."""
    cls: type[Element] | None = root
    data = plain
    pending: FieldShape | None = None
    for step in path:
        if cls is None:
            return None
        if pending is not None:  # inside a list: ``step`` is an index
            data = data[step] if isinstance(data, list) and isinstance(step, int) and step < len(data) else None
            cls = _pick_class(pending, data)
            pending = None
            continue
        if not isinstance(step, str):
            return None
        shape = field_by_key(cls, step)
        data = data.get(step) if isinstance(data, dict) else None
        if shape is None or shape.shape in (Shape.SCALAR, Shape.TEXT_LIST):
            return None
        if shape.shape is Shape.LIST:
            pending = shape
        else:
            cls = shape.classes[0]
    return None if pending is not None else cls


def _pick_class(shape: FieldShape, data: object) -> type[Element] | None:
    if shape.discriminator is None:
        return shape.classes[0]
    tag = data.get(shape.discriminator) if isinstance(data, dict) else None
    return shape.item_tags().get(str(tag)) if tag is not None else None
