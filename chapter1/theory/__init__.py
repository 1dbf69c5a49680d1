"""Closed forms for the questions the chapters ask (queues, balancing, availability)."""

from .queues import *  # noqa: F403
