"""Closed forms for the questions the chapters ask; ``chapter1.analytic`` is this package.

One module per idea, e.g. :mod:`.queues` (Erlang C, M/M/c, tandems, Little's law), :mod:`.balancing`
(one model per load-balancing policy), :mod:`.availability` (series, parallel, k of n, downtime),
:mod:`.caching`, :mod:`.replication`, :mod:`.cdn`, :mod:`.hashing`, :mod:`.messaging`,
:mod:`.datacentres`, and :mod:`.predict` (theory for a whole architecture).  Every module in this
folder is found and its public names (its ``__all__``) are names here: a new closed form is one
function in its module, and a new module is one file; nothing is listed twice.
"""

import importlib
import pkgutil

MODULES = tuple(importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__))


def _public(module):
    """The names ``module`` offers its readers: its ``__all__``, else the functions and classes it defines."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [name for name, value in vars(module).items()
            if not name.startswith("_") and getattr(value, "__module__", None) == module.__name__]


__all__ = sorted({name for module in MODULES for name in _public(module)})
globals().update({name: getattr(module, name) for module in MODULES for name in _public(module)})
