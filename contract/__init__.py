"""The data contract that the engine, the study app and the analysis share, and nothing heavy.

It holds what crosses a boundary between those rooms: the prepared tasks (``prepared_tasks``),
the study definition and its target rules (``study_definition``), the export tables
(``export_schema``), a corpus run's folder and tables (``corpus_run``), the category taxonomy
(``taxonomy`` and its ``taxonomies/*.toml``), model-token to code-unit alignment
(``token_alignment``, ``eraser_tokens``), user errors (``errors``) and logging (``logs``).

It imports no torch, transformers or tree-sitter, so ``study_app`` and ``analysis``, which import
only this package from the engine side, install and run without them.
"""
