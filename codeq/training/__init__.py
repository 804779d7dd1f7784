"""Training: the compatible fine-tuning loop, the bundled model codeq-tiny and its corpus, held-out workloads."""
