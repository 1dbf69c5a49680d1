"""The simulation core: workload, components protocol, architecture, engines, result."""
