"""Requests that arrive at one instant are admitted in their order of arrival by the simpy reference engine,
even at the moment a worker frees (requests placed by hand, every moment exact in binary floating point)."""

import numpy as np
import pytest

import chapter1 as c
from chapter1.core.simulation import Simulation


def placed(arch, arrivals):
    sim = Simulation(arch, c.Workload.from_rate(10), len(arrivals), 0)
    sim.arrival[:] = arrivals
    return sim.run("simpy").requests


@pytest.mark.parametrize("queue_limit", [0, 1])
@pytest.mark.parametrize("arrivals", [[0.0, 0.5, 0.5], [0.0, 0.5, 0.5, 0.5]])
def test_a_request_is_never_admitted_where_one_that_arrived_with_it_earlier_was_refused(queue_limit, arrivals):
    # one worker busy until 0.5 s exactly, when the others arrive together
    arch = c.Architecture("one", (c.WebServer(name="web", workers=1, service_time_ms=500, distribution="constant",
                                              queue_limit=queue_limit),), dns=None)
    status = placed(arch, arrivals)["status"].to_numpy()
    together = status[1:]
    refused = np.flatnonzero(together == "rejected")
    assert refused.size, "one worker and a short queue cannot take every request of the instant"
    assert (together[refused[0]:] == "rejected").all(), f"admitted after an earlier refusal: {status.tolist()}"
