"""Text helpers shared by the catalog generator's readers: names, plurals, descriptions.

Coupa spells one name several ways (``InvoiceHeader``, ``invoice_header``, ``invoice-header``)
and both of its sources, the reference tables and the Swagger files, need the same
normalisation, so it lives here once.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

NOT_PLURAL = {"status", "address", "canceled", "class", "access", "process", "business"}


def norm(text: str | None) -> str:
    """Trimmed cell text; the source has stray spaces and None for missing cells."""
    return (text or "").strip()


def squash(text: str) -> str:
    """Comparable form of a type or title: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def camel_to_wire(name: str) -> str:
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"-\1", name.strip())
    return name.lower().replace("_", "-").replace(" ", "")


def singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and word not in NOT_PLURAL:
        return word[:-1]
    return word


def plural(word: str) -> str:
    if word.endswith("y") and not word.endswith(("ay", "ey", "oy", "uy")):
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    if word.endswith("information"):
        return word
    return word + "s"


def is_plural_name(name: str) -> bool:
    last = name.split("-")[-1]
    return last not in NOT_PLURAL and singular(last) != last


def short_description(text: str | None) -> str:
    """First sentence of Coupa's description, without markup, at most 120 characters."""
    text = norm(text)
    text = re.sub(r"@@BLOCK_\d+@@", "", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"!\S*", "", text)
    text = text.split("<br>")[0]
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    if match:
        text = match.group(1)
    if len(text) > 120:
        text = text[:117].rsplit(" ", 1)[0] + "..."
    return text


def md_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """The lines of a Markdown table (the docs' generated tables); cells are escaped."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |")
    return lines


def is_stale(output: Path, text: str, generator: str) -> bool:
    """For a generator's ``--check``: whether ``output`` differs from what it makes now
    (saying so on stderr)."""
    current = output.read_text(encoding="utf-8") if output.exists() else ""
    if current != text:
        print(f"{output} is out of date; run tools/{generator}", file=sys.stderr)
        return True
    return False
