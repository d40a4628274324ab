"""Loading the catalog: YAML files -> pydantic models -> cross-checked ``Catalog``."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from shared.domain.catalog.catalog import Catalog
from shared.domain.catalog.models import CatalogFile, CatalogIndex
from shared.domain.catalog.rules import RULE_KINDS, document_types_named
from shared.domain.lifecycle import STATES

INDEX_FILE = "catalog.yaml"


class CatalogError(Exception):
    """The catalog is invalid; the message names the file, the path in it and the field."""

    def __init__(self, file: str, path: str, message: str) -> None:
        super().__init__(f"{file}: {path}: {message}" if path else f"{file}: {message}")
        self.file = file
        self.path = path
        self.message = message


def default_catalog_dir() -> Path:
    """The repository's ``catalog/`` directory (next to the ``shared`` package)."""
    return Path(__file__).resolve().parents[3] / "catalog"


def _read_yaml(path: Path, name: str) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(name, "", "file not found") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f"line {where.line + 1}" if where else ""
        raise CatalogError(name, line, f"not valid YAML: {exc}") from None


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _validate(model: type[Any], raw: Any, name: str) -> Any:
    try:
        return model.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(p for p in first["loc"] if not _is_union_tag(p))
        extra = exc.error_count() - 1
        more = f" (and {extra} more problem{'s' if extra > 1 else ''})" if extra else ""
        raise CatalogError(name, _location(loc), f"{first['msg']}{more}") from None


def _is_union_tag(part: int | str) -> bool:
    # pydantic puts the discriminator value ("required_document") into the location.
    return isinstance(part, str) and part in RULE_KINDS


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load and check the catalog in ``path`` (default: the repository's ``catalog/``).

    Raises ``CatalogError`` naming the file, the path inside it and the field at fault.
    """
    directory = Path(path) if path is not None else default_catalog_dir()
    index: CatalogIndex = _validate(
        CatalogIndex, _read_yaml(directory / INDEX_FILE, INDEX_FILE), INDEX_FILE
    )
    digest = hashlib.sha256()
    files: dict[str, CatalogFile] = {}
    for name in index.files:
        file_path = directory / name
        if file_path.is_file():
            digest.update(file_path.read_bytes())
        files[name] = _validate(CatalogFile, _read_yaml(file_path, name), name)
    return _merge(index, digest.hexdigest(), files)


def _merge(index: CatalogIndex, digest: str, files: dict[str, CatalogFile]) -> Catalog:
    merged: dict[str, dict[str, Any]] = {
        s: {} for s in ("document_types", "categories", "regimes", "requirement_sets")
    }
    where: dict[tuple[str, str], tuple[str, str]] = {}
    for name, content in files.items():
        for section, items in merged.items():
            for i, item in enumerate(getattr(content, section)):
                if item.id in items:
                    first = where[(section, item.id)]
                    raise CatalogError(
                        name, f"{section}[{i}].id", f"{item.id!r} is already defined in {first[0]}"
                    )
                items[item.id] = item
                where[(section, item.id)] = (name, f"{section}[{i}]")
    catalog = Catalog(
        version=index.version,
        digest=digest,
        document_types=merged["document_types"],
        categories=merged["categories"],
        regimes=merged["regimes"],
        requirement_sets=list(merged["requirement_sets"].values()),
    )
    _cross_check(catalog, where)
    return catalog


def _cross_check(catalog: Catalog, where: dict[tuple[str, str], tuple[str, str]]) -> None:
    for problem in _problems(catalog):
        section, item_id, sub, message = problem
        name, path = where[(section, item_id)]
        raise CatalogError(name, f"{path}{sub}", message)


def _problems(catalog: Catalog) -> Iterator[tuple[str, str, str, str]]:
    from fnmatch import fnmatchcase

    def matches_any(pattern: str) -> bool:
        return pattern == "*" or any(fnmatchcase(c, pattern) for c in catalog.categories)

    for regime in catalog.regimes.values():
        for i, pattern in enumerate(regime.categories):
            if not matches_any(pattern):
                yield "regimes", regime.id, f".categories[{i}]", f"{pattern!r} matches no category"
        for window, status in regime.windows.on_missed.items():
            if status is not None and status not in STATES:
                yield (
                    "regimes",
                    regime.id,
                    f".windows.on_missed.{window}",
                    f"{status!r} is no lifecycle status ({', '.join(STATES)})",
                )
    yield from _overlapping_regimes(catalog)
    yield from _closures_followed(catalog)
    yield from _clashing_rule_ids(catalog)
    for requirement_set in catalog.requirement_sets:
        yield from _set_problems(catalog, requirement_set, matches_any)


def _overlapping_regimes(catalog: Catalog) -> Iterator[tuple[str, str, str, str]]:
    regimes = list(catalog.regimes.values())
    for category in catalog.categories:
        covering = sorted(
            (r for r in regimes if r.covers(category)),
            key=lambda r: r.in_force_from or date.min,
        )
        for earlier, later in zip(covering, covering[1:], strict=False):
            ends = earlier.in_force_until or date.max
            if later.in_force_from is None or later.in_force_from <= ends:
                yield (
                    "regimes",
                    later.id,
                    ".in_force_from",
                    f"overlaps {earlier.id} for {category}: one regime at a time",
                )


def _closures_followed(catalog: Catalog) -> Iterator[tuple[str, str, str, str]]:
    # A closure announces an end for good: no later regime may take over its categories.
    for regime in catalog.regimes.values():
        if regime.closure is None or regime.in_force_until is None:
            continue
        after = regime.in_force_until + timedelta(days=1)
        for category in catalog.categories:
            if regime.covers(category) and catalog.closed_regime_for(category, after) is None:
                yield (
                    "regimes",
                    regime.id,
                    ".closure",
                    f"a later regime covers {category}: the regime does not end for good",
                )


def _clashing_rule_ids(catalog: Catalog) -> Iterator[tuple[str, str, str, str]]:
    # Outcomes are named by rule id: two rules that apply together need two names.
    for regime in catalog.regimes.values():
        for category in catalog.categories.values():
            for kind in ("new", "renewal", "change"):
                seen: dict[str, str] = {}
                for requirement_set in catalog.requirement_sets:
                    if not requirement_set.applies(regime.id, category, kind):
                        continue
                    for rule in requirement_set.rules:
                        if rule.id in seen:
                            yield (
                                "requirement_sets",
                                requirement_set.id,
                                ".rules",
                                f"rule id {rule.id!r} is also used by {seen[rule.id]} "
                                f"for {category.id} {kind} under {regime.id}",
                            )
                        seen[rule.id] = requirement_set.id


def _set_problems(catalog: Catalog, requirement_set: Any, matches_any: Any) -> Iterator[Any]:
    sid = requirement_set.id
    for i, regime in enumerate(requirement_set.regimes):
        if regime != "*" and regime not in catalog.regimes:
            yield "requirement_sets", sid, f".regimes[{i}]", f"unknown regime {regime!r}"
    for i, pattern in enumerate(requirement_set.categories):
        if not matches_any(pattern):
            yield "requirement_sets", sid, f".categories[{i}]", f"{pattern!r} matches no category"
    for j, rule in enumerate(requirement_set.rules):
        for name in document_types_named(rule):
            if name not in catalog.document_types:
                yield (
                    "requirement_sets",
                    sid,
                    f".rules[{j}].document_type",
                    f"unknown document type {name!r} in rule {rule.id!r}",
                )
