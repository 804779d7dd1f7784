"""Programming categories for code units, read from one TOML file per language.

A taxonomy file (``contract/taxonomies/<language>.toml``) holds

- ``atomic``: node types kept whole as one unit (string literals),
- ``[categories.<name>]`` with its ``group`` and a ``description``,
- ``[[rules]]``, tried in order; the first rule whose every condition holds gives the category:
  ``types`` (the unit's own node type is one of them), ``text`` (the unit's text is one of them),
  ``parent`` (the nearest ancestor's type is one of them), ``inside`` (some ancestor, or the unit
  itself, has one of these types), ``path`` (the nearest ancestors end with this sequence).

A unit no rule matches is ``unknown``. Light: no torch, no tree-sitter.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from contract.errors import UserError

LANGUAGES = ("python", "java", "javascript")
GROUPS = ("semantic", "natural language", "non-semantic", "errors")
UNKNOWN = "unknown"
_RULE_KEYS = {"category", "types", "text", "parent", "inside", "path"}


class TaxonomyError(UserError):
    """A taxonomy file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Rule:
    category: str
    types: frozenset[str] | None = None
    text: frozenset[str] | None = None
    parent: frozenset[str] | None = None
    inside: frozenset[str] | None = None
    path: tuple[str, ...] | None = None

    def matches(self, node_type: str, text: str, ancestors: tuple[str, ...]) -> bool:
        return (
            (self.types is None or node_type in self.types)
            and (self.text is None or text in self.text)
            and (self.parent is None or (bool(ancestors) and ancestors[-1] in self.parent))
            and (self.inside is None or node_type in self.inside or not self.inside.isdisjoint(ancestors))
            and (self.path is None or ancestors[-len(self.path) :] == self.path)
        )


@dataclass(frozen=True)
class Taxonomy:
    language: str
    atomic: frozenset[str]
    groups: dict[str, str]  # category -> group, in file order
    descriptions: dict[str, str]
    rules: tuple[Rule, ...]

    @property
    def categories(self) -> list[str]:
        return list(self.groups)

    def categorize(self, node_type: str, text: str, ancestors: tuple[str, ...]) -> tuple[str, str]:
        """Return (category, group) of a unit from its node type, text and ancestor types."""
        for rule in self.rules:
            if rule.matches(node_type, text, ancestors):
                return rule.category, self.groups[rule.category]
        return UNKNOWN, self.groups[UNKNOWN]


def parse_taxonomy(data: dict, source: str, language: str) -> Taxonomy:
    """Build a taxonomy from parsed TOML ``data``; ``source`` names the file in errors."""
    categories = data.get("categories")
    if not isinstance(categories, dict) or not categories:
        raise TaxonomyError(f"{source}: no [categories.<name>] tables")
    groups, descriptions = {}, {}
    for name, spec in categories.items():
        if spec.get("group") not in GROUPS:
            raise TaxonomyError(f"{source}: categories.{name}.group must be one of {', '.join(GROUPS)}")
        groups[name], descriptions[name] = spec["group"], spec.get("description", "")
    if UNKNOWN not in groups:
        raise TaxonomyError(f"{source}: the {UNKNOWN!r} category is missing")
    rules = []
    for i, spec in enumerate(data.get("rules", [])):
        extra = set(spec) - _RULE_KEYS
        if extra:
            raise TaxonomyError(f"{source}: rules[{i}] has unknown key(s) {', '.join(sorted(extra))}")
        if spec.get("category") not in groups:
            raise TaxonomyError(f"{source}: rules[{i}].category {spec.get('category')!r} is not a category")
        sets = {k: frozenset(spec[k]) if k in spec else None for k in ("types", "text", "parent", "inside")}
        path = tuple(spec["path"]) if "path" in spec else None
        rules.append(Rule(spec["category"], sets["types"], sets["text"], sets["parent"], sets["inside"], path))
    return Taxonomy(
        language=language,
        atomic=frozenset(data.get("atomic", [])),
        groups=groups,
        descriptions=descriptions,
        rules=tuple(rules),
    )


@cache
def load_taxonomy(language: str) -> Taxonomy:
    """Load the bundled taxonomy of ``language`` (python, java or javascript)."""
    if language not in LANGUAGES:
        raise UserError(f"unsupported language {language!r}: use {', '.join(LANGUAGES)}")
    resource = resources.files("contract") / "taxonomies" / f"{language}.toml"
    return parse_taxonomy(tomllib.loads(resource.read_text(encoding="utf-8")), str(resource), language)
