"""A balancer routed in several calls, compiled, leaves what the Python loop leaves after the same calls.

``admit_batch`` may be called more than once in a run (a component that passes requests on in pieces): whatever
the first call left (the turn, the health check seen last, the errors in a row, ejected servers and when, the
servers' queues and workers) is where the next call starts.  The compiled loop reads that state in and writes it
back; here both loops route the same run in pieces, with pools that eject servers, change view and lose members.
"""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_balance_loop import in_calls, pools, prepared, same, state

import chapter1 as c
from chapter1.components import downtime
from chapter1.core import kernels


def in_pieces(arch, rate, n, seed, cuts, compiled):
    """What the balancer and the run hold after routing requests ``[0, cut_1), [cut_1, cut_2), ... n`` call by
    call, compiled or not; whether the compiled loop ran; the servers ejected after each call."""
    calls, real = [], kernels.balance_through_changes
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kernels, "MIN_ROUTED", 0 if compiled else 10**12)
        patch.delenv(kernels.LONG_RUNS_ONLY, raising=False)
        patch.setattr(kernels, "balance_through_changes", lambda *args: calls.append(1) or real(*args))
        sim = prepared(arch, rate, n, seed)
        run, ejected = sim.tiers[0], []

        def admit(requests, times):
            answer = downtime.balance_through_changes(run, requests, times)
            ejected.append(dict(run.ejected))
            return answer
        found = state(sim, run, in_calls(admit, sim.arrival.copy(), cuts))
    return [*found, run.view_key, tuple(run.joined)], bool(calls), ejected


PLAIN = [c.LoadBalancer(servers=(c.Server(name="web-1", workers=1, service_time_ms=50.0, outages=(c.Outage(0.1, 1.2),)),
                                 c.Server(name="web-2", workers=2, service_time_ms=20.0)),
                        policy=policy, health_check_interval_s=0.5, eject_after=1,
                        joins=(c.Join(c.Server(name="web-3", workers=2), 1.0),))
         for policy in sorted(kernels.POLICY_CODES)]


@settings(max_examples=200, deadline=None, derandomize=True)
@example(pool=PLAIN[0], rate=150.0, n=300, seed=3, cuts=(40, 200))  # ejections carried into the second call
@given(pool=pools(), rate=st.sampled_from([5.0, 40.0, 150.0, 600.0]), n=st.integers(2, 300),
       seed=st.integers(0, 2**20), cuts=st.lists(st.integers(1, 299), min_size=1, max_size=3, unique=True))
def test_routing_in_pieces_compiled_leaves_what_the_python_loop_leaves(pool, rate, n, seed, cuts):
    cuts = tuple(sorted(cut for cut in cuts if cut < n))
    arch = c.Architecture("pool", (pool,), dns=None)
    compiled, ran, _ = in_pieces(arch, rate, n, seed, cuts, True)
    python, _, _ = in_pieces(arch, rate, n, seed, cuts, False)
    assert same(compiled, python)
    plain = all(type(m) is c.Server for m in pool.members) and pool.policy in kernels.POLICY_CODES
    assert ran == plain


@pytest.mark.parametrize("pool", PLAIN, ids=lambda p: p.policy)
def test_a_second_call_starts_from_the_ejections_and_view_the_first_left(pool):
    """The pieces matter: the first call ejects a server and sees a health check that the second starts from."""
    arch = c.Architecture("pool", (pool,), dns=None)
    compiled, ran, ejected = in_pieces(arch, 150.0, 300, 3, (40, 200), True)
    python, _, _ = in_pieces(arch, 150.0, 300, 3, (40, 200), False)
    assert ran and same(compiled, python)
    assert ejected[0] and compiled[-2] > 0 and compiled[-1] == (0, 1, 2)
