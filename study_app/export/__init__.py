"""Export a study as tidy tables with a codebook, a Data Package descriptor, ERASER files and, apart, a linkage file."""
