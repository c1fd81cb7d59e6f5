# Small-study effects (funnel plot, Egger-type regression) and meta-regression.
