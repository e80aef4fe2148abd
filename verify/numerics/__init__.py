"""Numerics: measures, attention, quadrature, certified enclosures, Monte Carlo, ODE trajectories, finite differences, strategies."""
