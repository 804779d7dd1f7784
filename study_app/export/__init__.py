"""Export a study as tidy tables with a codebook, a linkage file and ERASER-style annotations."""
