"""codeq: greedy rationales for code language models, mapped to programming categories.

Heavy names (torch-backed) are imported lazily so that ``study_app`` and ``analysis`` can use
the light modules (``codeq.source.units``, ``contract.taxonomy``, ``contract.prepared_tasks``) without torch.
"""

__version__ = "0.1.0"

_LAZY = {
    "load_model": "codeq.model.loading",
    "LoadedModel": "codeq.model.loading",
    "ModelLoadError": "codeq.model.loading",
    "complete": "codeq.model.completion",
    "Completion": "codeq.model.completion",
    "rationalize": "codeq.rationales.search",
    "Rationale": "codeq.rationales.search",
    "predicted_positions": "codeq.rationales.search",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'codeq' has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]
