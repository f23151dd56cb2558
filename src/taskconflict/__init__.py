"""Reproducible experiments on task conflict in text-to-text multi-task learners."""

__version__ = "0.1.0"
