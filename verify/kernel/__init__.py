"""The kernel: statements, the registry, derivations, evidence kinds, the comparison metric, the formula parser, claims and the runner."""
