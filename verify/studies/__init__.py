"""Studies: the audit, training, dynamics and mixture experiments and the self-test, each run(...) -> result, summary, write(dir)."""
