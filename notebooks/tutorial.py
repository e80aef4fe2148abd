# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # softmax-verify in 10 minutes
#
# A tour of the toolkit that checks *Softmax as Linear Attention in the Large-Prompt Regime* (Boursier & Boyer,
# arXiv 2512.11784): we check **Lemma 2.1**, try a **wrong formula** and watch it rejected, and measure the
# **rate** at which finite-prompt softmax attention approaches its limit (Prop 3.1).
#
# This file is a [jupytext](https://jupytext.readthedocs.io) percent script: open it as a notebook in Jupyter,
# or run it as plain Python.  `tests/test_notebook.py` executes it as a notebook in CI, so it never rots.

# %%
import numpy as np

import verify

rng = np.random.default_rng(0)  # randomness is explicit: same seed, same numbers

# %% [markdown]
# ## 1. Lemma 2.1: attention on a Gaussian is affine
#
# For $\mu = \mathcal N(m, \Gamma)$ the softmax attention map
# $T[\mu](z) = \int V z' e^{z'^\top K^\top Q z} d\mu(z') / \int e^{z'^\top K^\top Q z} d\mu(z')$
# is $T[\mu](z) = V m + V \Gamma K^\top Q z$.  The closed form against a high-precision quadrature of the
# *definition* (the two never share code):

# %%
d = 2
K, Q, V = (rng.normal(size=(d, d)) / 2 for _ in range(3))
m = rng.normal(size=d)
A = rng.normal(size=(d, d))
Gamma = A @ A.T / d + 0.5 * np.eye(d)
z = rng.normal(size=d)

closed = verify.gaussian_limit(K, Q, V, m, Gamma, z)
quad = np.array([float(x) for x in verify.attention_quadrature(K, Q, V, m, Gamma, z, dps=30)])
print("closed form:", closed)
print("quadrature: ", quad)
assert np.allclose(closed, quad, rtol=1e-10, atol=1e-12)

# %% [markdown]
# The same statement as `verify run gaussian-limit` checks it: its derivation (every step machine-checked by
# SymPy) and every evidence item (agreement with quadrature, certified enclosures, Monte Carlo z-tests, ...),
# ending in its verdict.

# %%
from verify.kernel.registry import statements
from verify.kernel.runner import run_statements
from verify.reports.table import format_table, format_verdicts

lemma = statements(["gaussian-limit"])
records = run_statements(lemma, seed=0)
print(format_table(records, statements=lemma))  # each derivation with what it derives, each check with its figure
print(format_verdicts(lemma, records))  # the verdict, computed from the records
assert all(r.passed for r in records)

# %% [markdown]
# ## 2. A wrong formula is rejected
#
# `verify.check_claim` compares *your* closed form with an independent reference at many points.  The right
# one is accepted; dropping the mean term $V m$ (the form linear attention would suggest for centred tokens) is
# rejected, with the worst discrepancy it saw.

# %%
right = verify.check_claim("gaussian-limit", "V*(m + Gamma*K.T*Q*z)")
wrong = verify.check_claim("gaussian-limit", "V*Gamma*K.T*Q*z")
print("right:", right.accepted, f"worst relative error {right.worst_error:.2g}")
print("wrong:", wrong.accepted, f"worst relative error {wrong.worst_error:.2g}")
assert right.accepted and not wrong.accepted

# %% [markdown]
# ## 3. A quick audit: the rate of Prop 3.1
#
# With $L$ prompt tokens, $\mathbb E\|T[\mu_L] - T[\mu]\|^2$ decays like $L^{-\alpha(\sigma\|U\|)}$, with the
# sharp exponent $\alpha(s) = (\sqrt{1 + 4/s^2} - 1)/2$ for $s^2 > 1/2$ (1 below).  For Gaussian tokens the
# expectation reduces to low-dimensional integrals (`concentration_error_gaussian`, no sampling); a brute-force
# Monte Carlo at small $L$ (with its standard error) checks that reduction.

# %%
sigma, U1, V1 = 1.0, [[1.0]], [[1.0]]
Ls = [10, 100, 1_000, 10_000, 100_000, 1_000_000]
exact = np.asarray(verify.concentration_error_gaussian(sigma, U1, V1, Ls))
mc = {L: verify.concentration_error(verify.Gaussian([0.0], [[sigma**2]]), U1, V1, L, 4000, seed=7, queries=4)
      for L in (10, 100)}
for L, est in mc.items():
    z_score = (est.mean - exact[Ls.index(L)]) / est.stderr
    print(f"L={L}: exact {exact[Ls.index(L)]:.4g}, Monte Carlo {est.mean:.4g} +- {est.stderr:.2g} (z = {z_score:+.2f})")
    assert abs(z_score) <= 5

slope = np.polyfit(np.log(Ls[-3:]), np.log(exact[-3:]), 1)[0]
alpha = verify.sharp_exponent(sigma, U1)
print(f"local slope at L = 1e4..1e6: {slope:.3f}; sharp exponent -alpha = {-alpha:.3f}")
assert abs(slope + alpha) < 0.05  # the local slope converges to -alpha like 1/ln L

# %% [markdown]
# ## 4. Plot the rate

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 4))
ax.loglog(Ls, exact, "o-", label="exact reduction")
ax.errorbar(list(mc), [e.mean for e in mc.values()], yerr=[1.96 * e.stderr for e in mc.values()], fmt="s",
            mfc="none", label="Monte Carlo (95%)")
ax.loglog(Ls, exact[-1] * (np.asarray(Ls) / Ls[-1]) ** (-alpha), ":", label=f"L^-alpha, alpha = {alpha:.3f}")
ax.set_xlabel("L (prompt length)")
ax.set_ylabel("E ||T[mu_L] - T[mu]||^2")
ax.set_title("Prop 3.1 at sigma = 1, d = 1")
ax.legend()
plt.show()

# %% [markdown]
# ## Next
#
# - `verify list` / `verify run ID` for every statement; `verify claim ID --formula "..."` from the shell.
# - `verify audit --quick -o DIR` for the whole audit of Props 3.1/3.4, `verify train --quick -o DIR` for training.
# - `verify report -o DIR` gathers all of it into one HTML page with a LaTeX/PDF appendix.
