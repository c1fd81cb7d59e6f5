"""The PyMC models (priors enter as data) and the one function that builds any of them."""
