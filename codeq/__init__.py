"""codeq: greedy rationales for code language models, mapped to programming categories.

Heavy names (torch-backed) are imported lazily so that ``study_app`` and ``analysis`` can use
the light modules (``codeq.units``, ``codeq.taxonomy``, ``codeq.contract``) without torch.
"""

__version__ = "0.1.0"

_LAZY = {
    "load_model": "codeq.loading",
    "LoadedModel": "codeq.loading",
    "ModelLoadError": "codeq.loading",
    "complete": "codeq.completion",
    "Completion": "codeq.completion",
    "rationalize": "codeq.rationale_search",
    "Rationale": "codeq.rationale_search",
    "predicted_positions": "codeq.rationale_search",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'codeq' has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]
