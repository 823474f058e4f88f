"""The pjsua2 worker: the only package that imports pjsua2 (owner thread, legs, commands)."""
