"""The Examples sections of the analysis API run as doctests, so the documentation cannot rot."""

import doctest
import importlib

import pytest

# by name, so that a module is found even where the package exports a function of the same name
MODULES = [
    "analysis.alignment",
    "analysis.bootstrap",
    "analysis.categories",
    "analysis.correction",
    "analysis.entropy",
    "analysis.wilcoxon",
    "analysis.breakdown",
    "analysis.sections",
    "analysis.agreement",
    "analysis.power",
    "analysis.plausibility",
    "analysis.ranking",
    "analysis.ceiling",
]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
