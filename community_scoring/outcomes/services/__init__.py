"""Writes of the outcomes app: recording outcomes (intake), the sales-driven stages they give, and outcomes
following the person when members merge or unmerge."""
