"""chipswitch: LLM training performance across accelerators, and the decision on top of it.

The library never prints or reads argv; `chipswitch.cli` and other shells consume its results.
"""

__version__ = "0.1.0"
