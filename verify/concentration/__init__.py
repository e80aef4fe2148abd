"""Props 3.1 and 3.4 of arXiv 2512.11784: the concentration of softmax attention on a finite prompt, exactly and by Monte Carlo."""
