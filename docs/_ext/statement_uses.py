"""Which statement uses which: the edges of the dependency graph on the site.

``USES[id]`` lists the statements whose result the statement ``id`` (its derivation or the proof it checks) relies
on.  This is the one place the edges are declared; it belongs on the statements themselves (a ``uses`` tuple of
ids on :class:`verify.kernel.statement.Statement`), and until then the site reads it from here.  A statement
missing from this table, or an edge naming an unknown id, fails the build.
"""

USES: dict[str, tuple[str, ...]] = {
    # Lemma 2.1 and what follows from the affine field directly
    "gaussian-limit": (),
    "linear-limit": ("gaussian-limit",),           # compared with the softmax limit: T - T_lin = V m (1 - m^T K^T Q z)
    "pushforward-law": ("gaussian-limit",),        # T[mu] is affine, so T[mu]_# mu is Gaussian
    "attention-dynamics": ("gaussian-limit",),     # the affine field moves Gaussians to Gaussians
    "gaussian-mixture-limit": ("gaussian-limit",),  # each component's tilted mean; C = 1 is Lemma 2.1
    # Props 3.1/3.4: concentration of T[mu_L] around T[mu] (the Gaussian limit)
    "sharp-exponent": ("gaussian-limit",),
    "prop-3-1-literal": ("gaussian-limit",),
    # Sec. 5: in-context regression at L = infinity, through Lemma 2.1 on centred tokens
    "icl-risk-infinite": ("gaussian-limit",),
    "icl-minimizers": ("icl-risk-infinite",),
    "icl-gradient": ("icl-risk-infinite",),
    "icl-mismatched-covariance": ("icl-risk-infinite",),
    # Zhang, Frei & Bartlett (2024)
    "zfb-minimizer": (),
    "zfb-linear": ("zfb-minimizer",),
    # Thm 5.1/5.2 applies ZFB Thm 4.1 at N = infinity; Thm 4.3 compares with it and leans on Prop 3.4
    "train-infinite": ("icl-gradient", "icl-minimizers", "zfb-minimizer"),
    "train-finite": ("train-infinite", "icl-risk-infinite", "prop-3-1-literal"),
}
