"""The decision engine: is capital tied to a chip commitment worth taking?

`scenario` (the YAML schema) -> `dists` (uncertain inputs, copula) -> `montecarlo`
(vectorised simulation of every option) with `finance` (dilution, runway, NPV) -> `analysis`
(break-even, sensitivity, value of information) -> `verdict` -> `report` (HTML).
Method and sources: docs/reference/decision_research.md section 6; user guide: docs/decide.md.
"""
