"""Component kinds, one module each (the simulation core never names them)."""
