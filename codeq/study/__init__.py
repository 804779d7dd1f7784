"""Preparing a study: instruments, target selection, task building, licences and target reports."""
