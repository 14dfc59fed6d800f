"""Who gets ill and what it costs: pure, vectorised, seeded models (layer 2, see ARCHITECTURE.md).

- :mod:`.frequency`: numbers of claims per person (Poisson, negative binomial), claimants of a group
  and their zero-truncated counts, the claim rate of a population cell;
- :mod:`.severity`: cost per claim (lognormal or gamma body spliced with a generalized Pareto tail),
  the in-policy share (beta), the cost trend, and every mean/CV <-> parameter conversion;
- :mod:`.population`: the roster within a year (stayers, quarterly entrants and exits) as groups of
  exchangeable persons with a coverage timeline, their exposure and expected claims;
- :mod:`.income`: household income per person.

Every stochastic function takes a ``numpy.random.Generator``; none keeps state.
"""
