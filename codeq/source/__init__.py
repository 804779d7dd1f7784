"""Source code as the engine reads it: tree-sitter code units, snippet screens, function snippets."""
