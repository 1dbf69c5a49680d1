"""Presentation kit: charts, scales, diagrams and live panels."""
