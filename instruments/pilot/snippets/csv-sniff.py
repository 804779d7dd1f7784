# source: Python 3.11 standard library, csv.Sniffer.sniff (the first 10 lines, from line 175, dedented)
def sniff(self, sample, delimiters=None):
    """
    Returns a dialect (or None) corresponding to the sample
    """

    quotechar, doublequote, delimiter, skipinitialspace = \
               self._guess_quote_and_delimiter(sample, delimiters)
    if not delimiter:
        delimiter, skipinitialspace = self._guess_delimiter(sample,
                                                            delimiters)
