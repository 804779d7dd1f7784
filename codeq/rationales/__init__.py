"""Greedy rationales: the batched search and the reference loop it is checked against."""
