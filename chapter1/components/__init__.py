"""Component kinds, one module each; importing this package registers them all.

Every module in this folder is found and imported (each registers its kinds with
:func:`chapter1.core.component.register`), and every registered kind is a name here: a new kind is
one file.  The simulation core never names a kind: it talks to the protocol in
:mod:`chapter1.core.component`.
"""

from ..core.component import KINDS
from ..core.modules import load_all

MODULES = load_all(__name__, __path__)
globals().update({name: kind.cls for name, kind in KINDS.items()})
__all__ = sorted(KINDS)
