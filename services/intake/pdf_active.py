"""Finding active content in a PDF (scripts, embedded files, actions that launch, link out or
submit) by walking its object graph. Such a PDF is stored and flagged for ops, never executed or rendered here."""

from __future__ import annotations

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, PdfObject

# Keys (and action types) that make a PDF do something when opened, and the flag they raise.
ACTIVE_NAMES = {
    "/JavaScript": "pdf_javascript",
    "/JS": "pdf_javascript",
    "/EmbeddedFiles": "pdf_embedded_files",
    "/EmbeddedFile": "pdf_embedded_files",
    "/Launch": "pdf_launch_action",
    "/OpenAction": "pdf_open_action",
    "/AA": "pdf_automatic_action",
    "/RichMedia": "pdf_rich_media",
    "/XFA": "pdf_xfa_form",
}
# Action types (the /S of an action) that reach outside the document. Only as /S: the key
# /URI also names a catalog's harmless base address.
ACTION_TYPES = {
    **ACTIVE_NAMES,
    "/URI": "pdf_uri_action",
    "/SubmitForm": "pdf_submit_form",
    "/ImportData": "pdf_import_data",
    "/GoToR": "pdf_remote_goto",
    "/GoToE": "pdf_remote_goto",
}
# Walking stops here: a hostile file must not make the check itself expensive.
MAX_OBJECTS = 50_000


def active_content(reader: PdfReader) -> list[str]:
    """The flags for every kind of active content reachable from the document's trailer."""
    found: set[str] = set()
    seen: set[tuple[int, int]] = set()
    pending: list[PdfObject] = [reader.trailer]
    visited = 0
    while pending and visited < MAX_OBJECTS:
        node = pending.pop()
        visited += 1
        if isinstance(node, IndirectObject):
            key = (node.idnum, node.generation)
            if key in seen:
                continue
            seen.add(key)
            resolved = node.get_object()
            if resolved is None:
                continue
            node = resolved
        if isinstance(node, DictionaryObject):
            for name, value in node.items():
                if name in ACTIVE_NAMES:
                    found.add(ACTIVE_NAMES[name])
                if name == "/S" and isinstance(value, NameObject) and value in ACTION_TYPES:
                    found.add(ACTION_TYPES[value])
                if name != "/Parent":  # the page tree is reached from the root already
                    pending.append(value)
        elif isinstance(node, ArrayObject):
            pending.extend(node)
    if visited >= MAX_OBJECTS:
        found.add("pdf_not_fully_inspected")
    return sorted(found)
