"""Tests of the shipped test helpers."""
