"""Closed forms for the questions the chapters ask (queues, balancing, availability).

``chapter1.analytic`` is this package.
"""

from .predict import predict  # noqa: F401
from .queues import *  # noqa: F401,F403
