# source: Python 3.11 standard library, colorsys.rgb_to_hsv (the first 4 lines, from line 125)
def rgb_to_hsv(r, g, b):
    maxc = max(r, g, b)
    minc = min(r, g, b)
    rangec = (maxc-minc)
