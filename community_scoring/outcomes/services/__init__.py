"""Writes and computations of the outcomes app: calibration of weights, offline config replays."""
