"""The export's Frictionless Data Package (https://specs.frictionlessdata.io/data-package/).

``datapackage.json`` names every table as a resource with a Table Schema generated from the export
schema (:mod:`contract.export_schema`): field types, ``required``, ``enum`` levels, known ranges, the
primary key and the foreign keys, so ``frictionless validate datapackage.json`` checks an export
(or a copy someone edited) against what the study app wrote.
"""

from __future__ import annotations

from datetime import datetime

from contract.export_schema import FOREIGN_KEYS, PRIMARY_KEYS, Column, is_filled

TYPES = {"string": "string", "integer": "integer", "float": "number", "datetime": "datetime", "json": "object"}
MEDIA_TYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson", "parquet": "application/vnd.apache.parquet"}
MISSING = [""]
CODEBOOK = "codebook.md"


def field_descriptor(table: str, c: Column) -> dict:
    """Return the Table Schema field of column ``c`` of ``table``."""
    constraints: dict = {}
    if is_filled(table, c):
        constraints["required"] = True
    if c.levels:
        constraints["enum"] = list(c.levels)
    if c.minimum is not None:
        constraints["minimum"] = c.minimum
    if c.maximum is not None:
        constraints["maximum"] = c.maximum
    field = {
        "name": c.name,
        "type": TYPES[c.type],
        "description": c.description + (f" Unit: {c.unit}." if c.unit else ""),
    }
    if c.type == "float":
        field["missingValues"] = MISSING + ["nan"]  # a Parquet reader gives a missing float back as NaN
    return field | ({"constraints": constraints} if constraints else {})


def table_schema(table: str, columns: list[Column]) -> dict:
    """Return the Table Schema of ``table``: its fields, missing values and keys."""
    schema: dict = {"fields": [field_descriptor(table, c) for c in columns], "missingValues": MISSING}
    if PRIMARY_KEYS[table]:
        schema["primaryKey"] = list(PRIMARY_KEYS[table])
    foreign = [
        {"fields": list(fk.columns), "reference": {"resource": fk.table, "fields": list(fk.columns)}}
        for fk in FOREIGN_KEYS[table]
    ]
    return schema | ({"foreignKeys": foreign} if foreign else {})


def data_package(
    columns: dict[str, list[Column]], fmt: str, name: str, title: str, version: int, created: datetime
) -> dict:
    """Return the ``datapackage.json`` descriptor of an export in ``fmt`` whose tables have ``columns``.

    The licence is left for the researcher to fill in before depositing the data.
    """
    return {
        "profile": "data-package",
        "name": name,
        "title": title,
        "version": str(version),
        "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "licenses": [],
        "description": f"Tidy tables of the study; every column is described in {CODEBOOK}.",
        "sources": [{"title": "Codebook", "path": CODEBOOK}],
        "resources": [
            {
                "name": table,
                "path": f"{table}.{fmt}",
                "format": fmt,
                "mediatype": MEDIA_TYPES[fmt],
                "profile": "tabular-data-resource",
                "schema": table_schema(table, cols),
            }
            for table, cols in columns.items()
        ],
    }
