# source: Python 3.11 standard library, fractions.Fraction.__eq__ (the first 10 lines, from line 678, dedented)
def __eq__(a, b):
    """a == b"""
    if type(b) is int:
        return a._numerator == b and a._denominator == 1
    if isinstance(b, numbers.Rational):
        return (a._numerator == b.numerator and
                a._denominator == b.denominator)
    if isinstance(b, numbers.Complex) and b.imag == 0:
        b = b.real
    if isinstance(b, float):
