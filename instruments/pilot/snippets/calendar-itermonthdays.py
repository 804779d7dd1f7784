# source: Python 3.11 standard library, calendar.Calendar.itermonthdays (lines 184-189 of a 11-line function)
def itermonthdays(self, year, month):
    """
    Like itermonthdates(), but will yield day numbers. For days outside
    the specified month the day number is 0.
    """
    day1, ndays = monthrange(year, month)
