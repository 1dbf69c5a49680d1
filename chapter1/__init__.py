"""Scale From Zero to Millions of Users: the library behind the course notebooks.

>>> from chapter1 import Workload, simulate, single_server
>>> result = simulate(single_server(workers=8), Workload(users=100_000), requests=5_000, seed=1)
>>> result.summary()["error_rate"]
0.0
"""

from . import analytic, architectures, charts, diagram, loadbalancer, widgets
from .architectures import Architecture, dns_round_robin, load_balanced, single_server
from .components import DNS, Database, Outage, Server, WebServer
from .loadbalancer import DNSRoundRobin, Join, LoadBalancer
from .result import Result
from .simulation import simulate, sweep
from .workload import Workload
from . import database_tier, datastores  # chapter 02
from .architectures import web_and_database
from . import balancing  # chapter 04
from . import scaling  # chapter 03

__all__ = [
    "Architecture", "DNS", "DNSRoundRobin", "Database", "Join", "LoadBalancer", "Outage", "Result", "Server",
    "WebServer", "Workload", "analytic", "architectures", "charts", "diagram", "dns_round_robin", "load_balanced",
    "loadbalancer", "simulate", "single_server", "sweep", "widgets",
]
__all__ += ["database_tier", "datastores", "web_and_database"]
__all__ += ["balancing"]
__all__ += ["scaling"]

# Charts render as SVG inside the kernel: no internet needed, and they show when a notebook is viewed as a file.
charts.use_offline_renderer()
