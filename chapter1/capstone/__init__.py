"""Chapter 13, the capstone: a design for 10 million users, priced and scored against a stated target.

``kinds`` holds the three small kinds the capstone composes with the course's own (a cluster of cache
nodes, shards that are each a replica set, background jobs published to a queue); ``design`` the target,
the price table and the learner's :class:`~chapter1.capstone.design.Design`; ``scoring`` the
simulation-and-theory verdict on a design.
"""
