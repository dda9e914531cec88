"""Pure interest-scoring math: numbers in, numbers out, no Django (decay, caps, fit, stages, rule sets, ledger)."""
