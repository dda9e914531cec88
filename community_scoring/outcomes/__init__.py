"""Outcomes: what sales and the product saw happen to members (acceptance, SQL, won, conversions), and what the
scores are measured and calibrated against (quality report, calibration, threshold experiments)."""
