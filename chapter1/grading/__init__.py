"""Exercises and grading: generate exercises from solutions, run notebooks, grade a class."""
