"""Thin DRF views: parse input, call one selector or service, render with an output serializer."""
