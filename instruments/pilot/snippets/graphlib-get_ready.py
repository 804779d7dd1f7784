# source: Python 3.11 standard library, graphlib.TopologicalSorter.get_ready (the first 12 lines, from line 108, dedented)
def get_ready(self):
    """Return a tuple of all the nodes that are ready.

    Initially it returns all nodes with no predecessors; once those are marked
    as processed by calling "done", further calls will return all new nodes that
    have all their predecessors already processed. Once no more progress can be made,
    empty tuples are returned.

    Raises ValueError if called without calling "prepare" previously.
    """
    if self._ready_nodes is None:
        raise ValueError("prepare() must be called first")
