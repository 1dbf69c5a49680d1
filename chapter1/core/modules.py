"""Packages whose every module is a plug-in (component kinds, theory): found, imported and exported alike."""

import importlib
import pkgutil


def load_all(package, path):
    """Import every module of ``package`` (its ``__path__`` is ``path``), in name order; return them."""
    return tuple(importlib.import_module(f"{package}.{m.name}") for m in pkgutil.iter_modules(path))


def public(module):
    """The names ``module`` offers its readers: its ``__all__``, else the functions and classes it defines."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [name for name, value in vars(module).items()
            if not name.startswith("_") and getattr(value, "__module__", None) == module.__name__]


def export(namespace, modules):
    """Put every public name of ``modules`` into ``namespace`` (a package's globals); return the names, sorted."""
    names = {name: getattr(module, name) for module in modules for name in public(module)}
    namespace.update(names)
    return sorted(names)
