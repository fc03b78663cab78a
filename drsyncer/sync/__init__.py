"""Sync logic: pure selection, transforms and planning over dicts, plus the executor that runs a plan."""
