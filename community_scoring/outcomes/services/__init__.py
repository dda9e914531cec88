"""Services of the outcomes app: recording outcomes (intake), the sales-driven stages they give, outcomes
following the person when members merge or unmerge, and the reports and learning built on them (quality report,
calibration of weights, offline config replays)."""
