"""Unit constants. Internal units are SI: FLOP, bytes, seconds, bytes/s, USD, joules.

Decimal (GB, 10^9) and binary (GiB, 2^30) prefixes are different constants with different names.
"""

KB = 1e3
MB = 1e6
GB = 1e9
TB = 1e12
KIB = 2.0**10
MIB = 2.0**20
GIB = 2.0**30
TIB = 2.0**40
TFLOP = 1e12
PFLOP = 1e15
GBIT = 1e9 / 8.0  # bytes in a gigabit
HOUR = 3600.0
DAY = 86400.0
YEAR = 365.25 * DAY
KWH = 3.6e6  # joules
