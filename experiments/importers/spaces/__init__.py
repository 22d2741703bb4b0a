"""The built-in design spaces as TOML package data.

Read by :mod:`experiments.importers.design_spaces`.
"""
