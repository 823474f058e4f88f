"""Small programs that use the gateway from outside, each with its own README and tests."""
