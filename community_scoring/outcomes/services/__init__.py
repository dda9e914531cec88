"""Services of the outcomes app: recording outcomes, and the reports and learning built on them (quality report,
calibration of weights, offline config replays)."""
