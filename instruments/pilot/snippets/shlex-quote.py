# source: Python 3.11 standard library, shlex.quote (lines 325-330 of a 10-line function)
def quote(s):
    """Return a shell-escaped version of the string *s*."""
    if not s:
        return "''"
    if _find_unsafe(s) is None:
        return s
