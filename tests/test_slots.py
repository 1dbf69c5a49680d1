"""A server's workers (Slots) behave as simpy.Resource does: the same grants, at the same moments, in the same order."""

import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from chapter1.components.server import Slots


def run(make_workers, capacity, customers):
    """Every customer, on each visit, stays away ``away``, asks for a worker, holds it ``hold`` and releases it; the
    log of who asked, got a worker and left, in the order the events came (ties kept in their order)."""
    env = simpy.Environment()
    workers, log = make_workers(env, capacity), []

    def customer(k, visits):
        for away, hold in visits:  # (an arrival in two steps comes after events scheduled in between)
            yield env.timeout(away // 2)
            yield env.timeout(away - away // 2)
            slot = workers.request()
            log.append(("asks", k, env.now, len(workers.queue), workers.count))
            yield slot
            log.append(("starts", k, env.now))
            yield env.timeout(hold)
            workers.release(slot)
            log.append(("leaves", k, env.now, len(workers.queue), workers.count))

    for k, visits in enumerate(customers):
        env.process(customer(k, visits))
    env.run()
    return log


def resource(env, capacity):
    return simpy.Resource(env, capacity=capacity)


# whole-number times, so that arrivals, starts and ends tie often; holding 0 releases in the same moment; a
# customer comes back after leaving (then asks in the moment another releases, before the release's event)
VISIT = st.tuples(st.integers(0, 6), st.integers(0, 3))
CUSTOMERS = st.lists(st.lists(VISIT, min_size=1, max_size=3), min_size=1, max_size=25)


@settings(max_examples=300, deadline=None)
@given(capacity=st.integers(1, 3), customers=CUSTOMERS)
def test_slots_grant_workers_as_simpy_resource_does(capacity, customers):
    assert run(Slots, capacity, customers) == run(resource, capacity, customers)


def test_a_release_hands_the_worker_on_only_when_its_event_comes_up():
    """simpy's order: a request made in the moment of a release, before the release's event, waits behind the head."""
    for make in (Slots, resource):
        env = simpy.Environment()
        workers = make(env, 1)
        first, second = workers.request(), workers.request()
        workers.release(first)   # the worker is free now, but second gets it only when the release event runs
        third = workers.request()  # looks at the head of the line (second): second takes the free worker
        assert (second.triggered, third.triggered, workers.count) == (True, False, 1), make
