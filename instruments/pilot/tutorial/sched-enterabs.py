# source: Python 3.11 standard library, sched.scheduler.enterabs (the first 7 lines, from line 62, dedented)
def enterabs(self, time, priority, action, argument=(), kwargs=_sentinel):
    """Enter a new event in the queue at an absolute time.

    Returns an ID for the event which can be used to remove it,
    if necessary.

    """
