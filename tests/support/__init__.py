"""Test helpers shared by the suites (real peers on loopback, audio analysis)."""
