"""Which distribution licences count as permissive, read from metadata as importlib.metadata gives it."""

from email.message import Message

import pytest

from codeq.study.licences import distribution_licence, spdx_permissive


@pytest.mark.parametrize(
    "expression, permissive",
    [
        ("MIT", True),
        ("GPL-3.0-only", False),
        ("MIT AND GPL-3.0-only", False),
        ("MIT OR GPL-3.0-only", True),
        ("GPL-3.0-only OR MIT", True),
        ("(MIT OR GPL-3.0-only) AND LGPL-2.1-only", False),
        ("MIT OR GPL-3.0-only AND LGPL-2.1-only", True),  # AND binds tighter than OR
        ("Apache-2.0 WITH LLVM-exception AND BSD-3-Clause", True),
        ("MPL-2.0 AND MIT", False),
    ],
)
def test_spdx_expressions(expression, permissive):
    assert spdx_permissive(expression) is permissive


def metadata(**fields):
    message = Message()
    for key, values in fields.items():
        for value in values if isinstance(values, list) else [values]:
            message[key.replace("_", "-")] = value
    return message


@pytest.mark.parametrize(
    "fields, expected",
    [
        ({"License_Expression": "mit or apache-2.0"}, ("MIT OR Apache-2.0", "License-Expression", True)),
        ({"License_Expression": "LGPL-3.0-only", "License": "MIT"}, ("LGPL-3.0-only", "License-Expression", False)),
        (
            {"Classifier": ["License :: OSI Approved", "License :: OSI Approved :: BSD License"], "License": "GPL"},
            ("BSD", "classifiers", True),
        ),
        (
            {
                "Classifier": [
                    "License :: OSI Approved :: MIT License",
                    "License :: OSI Approved :: GNU General Public License v2 (GPLv2)",
                ]
            },
            ("MIT AND GNU General Public License v2 (GPLv2)", "classifiers", False),
        ),
        ({"License": "Apache 2.0 License"}, ("Apache-2.0", "License", True)),
        ({"License": "3-Clause BSD License"}, ("BSD-3-Clause", "License", True)),
        ({"License": "Proprietary"}, ("Proprietary", "License", False)),
        ({"License": "Copyright (c) 2001 Someone\nAll rights reserved.\n..."}, ("unknown", "none", False)),
        ({}, ("unknown", "none", False)),
    ],
)
def test_distribution_licence(fields, expected):
    licence = distribution_licence(metadata(**fields))
    assert (licence.name, licence.source, licence.permissive) == expected
