"""Scale From Zero to Millions of Users: the library behind the course notebooks.

>>> from chapter1 import Workload, simulate, single_server
>>> result = simulate(single_server(workers=8), Workload(users=100_000), requests=5_000, seed=1)
>>> result.summary()["error_rate"]
0.0
"""

from . import analytic, architectures
from .architectures import Architecture, single_server
from .components import DNS, Database, Outage, Server, WebServer
from .result import Result
from .simulation import simulate
from .workload import Workload

__all__ = [
    "Architecture", "DNS", "Database", "Outage", "Result", "Server", "WebServer", "Workload",
    "analytic", "architectures", "simulate", "single_server",
]
