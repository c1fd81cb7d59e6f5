# Predictive checks: prior predictive, posterior predictive per study, LOO-PIT.
