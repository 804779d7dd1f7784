# source: Python 3.11 standard library, calendar.leapdays (lines 107-110 of a 6-line function)
def leapdays(y1, y2):
    """Return number of leap years in range [y1, y2).
       Assume y1 <= y2."""
    y1 -= 1
