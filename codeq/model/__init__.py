"""Loading a causal LM, greedy completion, and the random models that tests and benchmarks use."""
