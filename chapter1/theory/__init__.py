"""Closed forms for the questions the chapters ask; ``chapter1.analytic`` is this package.

One module per idea, e.g. :mod:`.queues` (Erlang C, M/M/c, tandems, Little's law), :mod:`.balancing`
(one model per load-balancing policy), :mod:`.availability` (series, parallel, k of n, downtime),
:mod:`.caching`, :mod:`.replication`, :mod:`.cdn`, :mod:`.hashing`, :mod:`.messaging`,
:mod:`.datacentres`, and :mod:`.predict` (theory for a whole architecture).  Every module in this
folder is found and its public names (its ``__all__``) are names here: a new closed form is one
function in its module, and a new module is one file; nothing is listed twice.
"""

from ..core.modules import export, load_all

MODULES = load_all(__name__, __path__)
__all__ = export(globals(), MODULES)
