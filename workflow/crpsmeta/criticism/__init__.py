"""Model criticism: predictive checks, LOO-PIT, prior power-scaling, leave-one-study-out influence."""
