"""Scale From Zero to Millions of Users: the library behind the course notebooks.

>>> import chapter1 as c
>>> result = c.simulate(c.single_server(workers=8), c.Workload(users=100_000), requests=5_000, seed=1)
>>> result.summary()["error_rate"]
0.0

Importing the package loads nothing heavy and changes no setting: each name below is imported
the first time it is used.  Layout: ``core`` (workload, architecture, simulation, result),
``components`` (one module per kind), ``theory`` (closed forms), ``present`` (charts, diagram,
panels), ``sections`` (one module per notebook), ``grading`` (exercises and the grader).
"""

import importlib
import importlib.abc
import importlib.util
import sys

# Public name -> the module that defines it.
NAMES = {
    "Workload": "core.workload", "Outage": "core.component", "Component": "core.component",
    "Architecture": "core.architecture", "simulate": "core.simulation", "sweep": "core.simulation",
    "Result": "core.result", "Runtime": "core.component", "Share": "core.component", "register": "core.component",
    "DNS": "components.dns", "Server": "components.server", "WebServer": "components.server",
    "Database": "components.server", "LoadBalancer": "components.pool", "DNSRoundRobin": "components.pool",
    "Join": "components.pool", "Cache": "components.cache", "hit_ratio_curve": "components.cache",
    "single_server": "architectures", "web_and_database": "architectures", "load_balanced": "architectures",
    "dns_round_robin": "architectures",
    "cached": "architectures",
    "replicated": "architectures",
    "ReplicaSet": "components.replicas", "Replica": "components.replicas",
    "multi_region": "architectures",
    "DataCentre": "components.datacentre", "GeoDNS": "components.datacentre",
    "CDN": "components.cdn", "Region": "components.cdn", "with_cdn": "architectures",
    "SessionStore": "components.sessions", "StickySessions": "components.sessions",
    "queued": "architectures",
    "MessageQueue": "components.queue", "Consumers": "components.queue", "Autoscaler": "components.autoscaling",
    "sharded": "architectures",
    "keys_moved": "components.shards",
    "ShardRouter": "components.shards",
}

# Module names the notebooks and earlier versions use -> where that module lives now.
MODULES = {
    "analytic": "theory", "architectures": "architectures", "charts": "present.charts",
    "widgets": "present.panels", "diagram": "present.diagram", "loadbalancer": "components.pool",
    "simulation": "core.simulation", "result": "core.result", "workload": "core.workload",
    "database_tier": "sections.database_tier", "datastores": "sections.datastores",
    "scaling": "sections.scaling", "balancing": "sections.balancing",
    "replication": "sections.replication",
    "stateless": "sections.stateless",
    "cdn": "sections.cdn",
    "sharding": "sections.sharding",
    "metrics": "metrics",
    "grade": "grading.grade", "exercises": "grading.exercises", "nbcheck": "grading.nbcheck",
}

__all__ = sorted(NAMES) + sorted(MODULES)


def __getattr__(name):
    if name in NAMES:
        return getattr(importlib.import_module(f"{__name__}.{NAMES[name]}"), name)
    if name in MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return __all__


class _Aliases(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``import chapter1.analytic`` (and ``python -m chapter1.grade``) reach the module's new home."""

    def find_spec(self, fullname, path=None, target=None):
        package, _, name = fullname.rpartition(".")
        if package != __name__ or name not in MODULES or MODULES[name] == name:
            return None
        real = importlib.util.find_spec(f"{__name__}.{MODULES[name]}")
        spec = importlib.util.spec_from_loader(fullname, self, origin=real.origin)
        spec.has_location = real.has_location  # python -m sets __file__ from it
        return spec

    def create_module(self, spec):
        return importlib.import_module(f"{__name__}.{MODULES[spec.name.rpartition('.')[2]]}")

    def exec_module(self, module):
        pass

    def get_code(self, fullname):  # runpy (python -m) runs the real module's code
        real = f"{__name__}.{MODULES[fullname.rpartition('.')[2]]}"
        return importlib.util.find_spec(real).loader.get_code(real)


if not any(isinstance(f, _Aliases) for f in sys.meta_path):
    sys.meta_path.append(_Aliases())
