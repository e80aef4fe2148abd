"""In-context linear regression (Sec. 5 of arXiv 2512.11784): risks, gradients, training models, Zhang-Frei-Bartlett (2024), references from the definition."""
