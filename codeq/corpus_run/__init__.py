"""Corpus-scale rationales: ``codeq corpus run INPUT --out DIR``, in one process or on Ray.

The unit of work is an *item* (one code text the model completes). Every item ends in exactly one
place under DIR: its rows in ``rationales/`` (one per target, each carrying the contract task as
JSON) or one row in ``errors/`` with the reason. Shards are written atomically and keyed by their
items, so a run killed at any point and restarted gives the rows of an uninterrupted run.

Modules: ``schema`` (the shard tables, light), ``shards`` (atomic writes, what is done, reading
back), ``manifest`` (the settings a DIR was started with), ``items`` (reading INPUT), ``worker``
(loads the model once, turns items into rows), ``local_engine`` and ``ray_engine`` (who runs the
worker), ``run`` (the driver).
"""
