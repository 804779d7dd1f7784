"""Taxonomy files: every unit gets one category; unknown units are rare on real code."""

import random
import re

import pytest

from codeq.source.units import code_units
from codeq.training.tiny import stdlib_files
from contract.taxonomy import GROUPS, LANGUAGES, TaxonomyError, load_taxonomy, parse_taxonomy

JAVA_SAMPLE = r"""
package org.example.util;

import java.util.*;
import static java.lang.Math.max;

/** A bounded stack. */
@SuppressWarnings("unchecked")
public final class Stack<T extends Comparable<T>> implements Iterable<T> {
    private static final int LIMIT = 0x10;
    private final T[] items;
    private int size = 0;
    protected volatile boolean closed;

    public Stack(int capacity) {
        this.items = (T[]) new Comparable[max(capacity, LIMIT)];
    }

    @Override
    public Iterator<T> iterator() {
        return Arrays.asList(items).subList(0, size).iterator();
    }

    public synchronized void push(T item) throws IllegalStateException {
        assert item != null : "null item";
        if (size >= items.length) {
            throw new IllegalStateException("full");
        } else if (closed) {
            return;
        }
        items[size++] = item;
    }

    public T pop() {
        try {
            return items[--size];
        } catch (ArrayIndexOutOfBoundsException e) {
            size = 0;
            return null;
        } finally {
            closed = false;
        }
    }

    static double mean(List<? extends Number> values) {
        double total = 0.0d;
        for (Number v : values) total += v.doubleValue();
        int i = 0;
        while (i < 3) { i++; if (i == 2) continue; else break; }
        do { i--; } while (i > 0 && !values.isEmpty() || i == -1);
        char c = 'x';
        long mask = 1L << 3 | 0b101 ^ ~7;
        String kind = switch (c) { case 'x' -> "ex"; default -> { yield "other"; } };
        Runnable r = () -> System.out.println(kind + c);
        r.run();
        // average of the values
        return values.size() > 0 ? total / values.size() : Double.NaN;
    }

    interface Visitor { void visit(Object o); }
    enum Color { RED, GREEN }
    record Point(int x, int y) {}

    boolean check(Object o) {
        if (o instanceof Point p && p.x() > 0) { return true; }
        int[][] grid = new int[2][3];
        grid[0][1] = 5 % 2;
        String s = String.valueOf(3.5e2) + super.toString();
        return s.equals("x") == false;
    }
}
"""

JS_SAMPLE = r"""#!/usr/bin/env node
'use strict';
import fs, { readFile as read } from 'fs';
import * as path from 'path';

/**
 * A small cache with expiry.
 */
export default class Cache extends Map {
  #hits = 0;
  static created = 0;

  constructor(ttl = 1000) {
    super();
    this.ttl = ttl;
    Cache.created++;
  }

  get hits() { return this.#hits; }

  async load(key) {
    const text = await read(path.join('data', `${key}.json`), 'utf8');
    let value = JSON.parse(text) ?? null;
    if (value === undefined || typeof value !== 'object') {
      throw new TypeError(`bad value for ${key}`);
    } else if (!value) {
      return null;
    }
    this.set(key, { value, at: Date.now() });
    return value;
  }

  *entriesOlderThan(ms) {
    for (const [key, entry] of this) {
      if (Date.now() - entry.at > ms) yield key;
    }
  }
}

function count(items, pattern = /a+b/gi) {
  var n = 0;
  for (let i = 0; i < items.length; i += 1) {
    if (pattern.test(items[i])) { n++; continue; }
    while (n > 100) { n -= 1; break; }
  }
  do { n--; } while (n > 10 && n % 2 === 0 || n != 3);
  switch (n) {
    case 0: return 'none';
    default: break;
  }
  for (const k in { a: 1, b: 2 }) delete items[k];
  try {
    return n > 1 ? n ** 2 : -n;
  } catch (err) {
    console.error(err.message);
  } finally {
    n = void 0;
  }
}

const double = (x) => x * 2, flags = [true, false, ...[1, 2.5e3]];
export { count, double };
label: for (;;) { break label; }
debugger;
module.exports = { count, double, flags, hit: 0b11 & 0xff | 1 << 2 >>> 1, obj: obj?.field };
"""


def _unknown_share(units):
    return sum(u.category == "unknown" for u in units) / len(units)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_category_has_a_known_group(language):
    taxonomy = load_taxonomy(language)
    assert set(taxonomy.groups.values()) <= set(GROUPS)
    required = {
        "indentation",
        "newline",
        "punctuation",
        "operators",
        "conditionals",
        "loops",
        "exceptions",
        "oop",
        "functions",
        "imports",
        "assertions",
        "types",
        "bool",
        "none",
        "identifiers",
        "strings",
        "numbers",
        "comments",
        "errors",
        "unknown",
    }
    assert required <= set(taxonomy.categories)


def test_python_stdlib_sample_has_under_half_percent_unknown():
    train, heldout = stdlib_files()
    sample = random.Random(0).sample(train, 25) + heldout[:5]
    units = [u for path in sample for u in code_units(path.read_text(encoding="utf-8"), "python")]
    assert len(units) > 10_000
    assert _unknown_share(units) < 0.005


@pytest.mark.parametrize("language, code", [("java", JAVA_SAMPLE), ("javascript", JS_SAMPLE)])
def test_samples_have_no_unknown_units(language, code):
    units = code_units(code, language)
    unknown = [(u.text, u.node_path) for u in units if u.category == "unknown"]
    assert unknown == []
    assert not any(u.category == "errors" for u in units)  # the samples parse


@pytest.mark.parametrize(
    "language, code, expected",
    [
        (
            "java",
            "class A { int f() { return this.x; } }",
            {
                "class": "oop",
                "A": "identifiers",
                "int": "types",
                "f": "identifiers",
                "return": "functions",
                "this": "oop",
                ".": "punctuation",
                "x": "identifiers",
                "{": "punctuation",
                ";": "punctuation",
            },
        ),
        (
            "javascript",
            "for (const k of xs) { if (k) yield null; }",
            {
                "for": "loops",
                "const": "keywords",
                "k": "identifiers",
                "of": "loops",
                "xs": "identifiers",
                "if": "conditionals",
                "yield": "functions",
                "null": "none",
            },
        ),
        (
            "python",
            "for x in y:\n    if x in z: raise E from x\nelse: pass\n",
            {
                "for": "loops",
                "if": "conditionals",
                "raise": "exceptions",
                "from": "exceptions",
                "pass": "keywords",
                "else": "loops",
                ":": "punctuation",
            },
        ),
    ],
)
def test_hand_classified_units(language, code, expected):
    got = {}
    for u in code_units(code, language):
        got.setdefault(u.text, set()).add(u.category)
    for text, category in expected.items():
        assert got[text] == {category}, text
    if language == "python":
        assert [u.category for u in code_units(code, language) if u.text == "in"] == ["loops", "operators"]


@pytest.mark.parametrize(
    "data, message",
    [
        ({}, "no [categories.<name>] tables"),
        ({"categories": {"a": {"group": "semantic"}}}, "the 'unknown' category is missing"),
        ({"categories": {"a": {"group": "odd"}, "unknown": {"group": "errors"}}}, "categories.a.group must be"),
        ({"categories": {"unknown": {"group": "errors"}}, "rules": [{"category": "b"}]}, "rules[0].category 'b'"),
        (
            {"categories": {"unknown": {"group": "errors"}}, "rules": [{"category": "unknown", "tpyes": []}]},
            "rules[0] has unknown key(s) tpyes",
        ),
    ],
)
def test_malformed_taxonomy_names_the_entry(data, message):
    with pytest.raises(TaxonomyError, match="^" + re.escape("t.toml: " + message)):
        parse_taxonomy(data, "t.toml", "python")


def test_unsupported_language_is_one_line_error():
    with pytest.raises(ValueError, match="unsupported language 'cobol'"):
        load_taxonomy("cobol")


def test_unit_coverage_command_counts_categories(tmp_path):
    from click.testing import CliRunner

    from codeq.cli import main

    (tmp_path / "a.py").write_text("x = 1  # one\n")
    result = CliRunner().invoke(main, ["unit-coverage", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "1 files, 6 units, unknown 0.0000%, errors 0.0000%"
    assert sorted(line.split()[0] for line in lines[1:]) == [
        "comments",
        "identifiers",
        "newline",
        "numbers",
        "operators",
    ]
