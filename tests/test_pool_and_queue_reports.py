"""What a pool reports in the components table, and how a message queue refuses parts of the wrong kind."""

import math

import pandas as pd
import pytest

import chapter1 as c
from chapter1.components.queue import Consumers, MessageQueue

COLUMNS = ["component", "kind", "workers", "utilization", "served", "mean_wait_ms", "error", "timeout", "rejected"]


@pytest.mark.parametrize("servers", [1, 3])
def test_a_balancer_row_counts_every_request_it_forwarded_and_has_no_workers_or_wait(servers):
    result = c.simulate(c.load_balanced(servers, "least_connections"), c.Workload.from_rate(20), requests=50, seed=1)
    table = result.components
    assert list(table.columns) == COLUMNS
    row = table.set_index("component").loc["load balancer"]
    forwarded = int((result.requests["server"] != "").sum())
    assert forwarded == 50 and row["served"] == forwarded  # the first server (member 0) counts too
    assert pd.isna(row["workers"]) and math.isnan(row["mean_wait_ms"])


@pytest.mark.parametrize(("make", "words"), [
    (lambda: MessageQueue(consumers=5), "consumers must be a Consumers (e.g. Consumers(workers=8)); got 5"),
    (lambda: Consumers(autoscale=5),
     "autoscale must be a Autoscaler (e.g. Autoscaler(min_workers=2, max_workers=16)); got 5"),
])
def test_a_queue_refuses_a_part_of_the_wrong_kind_naming_one_that_works(make, words):
    with pytest.raises(TypeError) as info:
        make()
    assert str(info.value) == words
