"""Tiny HTML reader for storefront tests: elements by id or class, with attributes and text."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

_VOID = {"input", "br", "img", "meta", "link", "hr", "source", "wbr", "area", "base", "col"}


@dataclass
class Element:
    """One element: tag, attributes and its text content (children included)."""

    tag: str
    attrs: dict[str, str | None]
    text_parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())

    def has(self, name: str) -> bool:
        return name in self.attrs


class Page(HTMLParser):
    """Parses a whole page; `by_id`, `by_class` and `scripts` answer questions about it."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs))
        self.elements.append(element)
        if tag not in _VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                return

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text_parts.append(data)

    def by_id(self, element_id: str) -> Element | None:
        return next((e for e in self.elements if e.attrs.get("id") == element_id), None)

    def by_class(self, name: str) -> list[Element]:
        return [e for e in self.elements if name in (e.attrs.get("class") or "").split()]

    def scripts(self) -> list[str | None]:
        return [e.attrs.get("src") for e in self.elements if e.tag == "script"]
