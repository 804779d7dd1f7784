"""The import boundary: importing contract, analysis and study_app (every submodule) loads neither
torch, transformers nor tree-sitter, and study_app and analysis reach the engine side only through
the contract package (no ``codeq`` module is loaded)."""

import subprocess
import sys

# Every module of both packages, found by walking them in the child process; the Alembic scripts
# are left out because they run migrations when imported.
CODE = """
import importlib, pkgutil, sys
import analysis, contract, study_app
names = []
for package in (contract, analysis, study_app):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if ".migrations" not in info.name:
            importlib.import_module(info.name)
            names.append(info.name)
print(len(names), "analysis.ceiling" in names, "study_app.admin.stats" in names, "contract.taxonomy" in names)
print(sorted({m.split(".")[0] for m in sys.modules} & {"torch", "transformers", "tree_sitter", "codeq", "flask"}))
"""


def test_contract_analysis_and_study_app_import_no_engine_module():
    done = subprocess.run([sys.executable, "-c", CODE], check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    count, loaded = done.stdout.strip().splitlines()
    assert int(count.split()[0]) > 40 and count.split()[1:] == ["True", "True", "True"]
    assert loaded == "['flask']"  # study_app is a Flask app; the heavy engine libraries stay out


def test_analysis_alone_imports_no_flask():
    code = (
        "import sys, analysis, analysis.report, analysis.__main__, analysis.agreement; "
        "print(sorted(m for m in ('torch', 'flask', 'transformers') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
