# source: Python 3.11 standard library, sched.scheduler.__init__ (the first 4 lines, from line 53, dedented)
def __init__(self, timefunc=_time, delayfunc=time.sleep):
    """Initialize a new instance, passing the time and delay
    functions"""
    self._queue = []
