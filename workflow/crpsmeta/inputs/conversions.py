"""Published conversions between the ways outcomes are reported.

Each function names its source. Results are "derived" values: the workflow
records which conversion produced them.

- :func:`sd_from_se`: SD = SE x sqrt(n) (Cochrane Handbook 6.5.2.2).
- :func:`smd`: standardised mean difference with Hedges' small-sample
  correction and its large-sample variance (Hedges and Olkin 1985; Cochrane
  Handbook 6.5.1.2).
- :func:`log_or_from_smd`: log OR = pi / sqrt(3) x SMD (Chinn 2000, Stat Med
  19:3127-3131), exact when the outcome is a dichotomised logistic latent
  variable with equal scales in both arms.
- :func:`mean_sd_from_median_iqr`: Wan, Wang, Liu, Tong 2014 (BMC Med Res
  Methodol 14:135), scenario with median and quartiles:
  mean ~ (q1 + m + q3) / 3, SD ~ (q3 - q1) / (2 Phi^-1((0.75 n - 0.125) / (n + 0.25))).
"""

from __future__ import annotations

import math

from scipy import stats

CHINN_FACTOR = math.pi / math.sqrt(3.0)


def sd_from_se(se: float, n: int) -> float:
    """Standard deviation from the standard error of a mean of n observations."""
    if se <= 0 or n <= 0:
        raise ValueError("need se > 0 and n > 0")
    return se * math.sqrt(n)


def smd(
    mean1: float, sd1: float, n1: int, mean2: float, sd2: float, n2: int, hedges: bool = True
) -> tuple[float, float]:
    """Standardised mean difference (group 1 minus group 2) and its variance.

    Pooled SD = sqrt(((n1 - 1) sd1^2 + (n2 - 1) sd2^2) / (n1 + n2 - 2));
    d = (mean1 - mean2) / pooled SD; with ``hedges`` the small-sample factor
    J = 1 - 3 / (4 (n1 + n2) - 9) is applied (Hedges' g).
    Var = (n1 + n2) / (n1 n2) + d^2 / (2 (n1 + n2)).
    """
    if min(sd1, sd2) <= 0 or min(n1, n2) < 2:
        raise ValueError("need positive SDs and at least 2 patients per group")
    pooled = math.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (n1 + n2 - 2))
    d = (mean1 - mean2) / pooled
    if hedges:
        d *= 1.0 - 3.0 / (4.0 * (n1 + n2) - 9.0)
    var = (n1 + n2) / (n1 * n2) + d**2 / (2.0 * (n1 + n2))
    return d, var


def log_or_from_smd(d: float, var_d: float) -> tuple[float, float]:
    """Chinn 2000: log odds ratio and its variance from an SMD and its variance."""
    return CHINN_FACTOR * d, CHINN_FACTOR**2 * var_d


def mean_sd_from_median_iqr(median: float, q1: float, q3: float, n: int) -> tuple[float, float]:
    """Wan et al. 2014: estimated mean and SD from the median and quartiles of n observations."""
    if not q1 <= median <= q3:
        raise ValueError("need q1 <= median <= q3")
    if n < 1:
        raise ValueError("need n >= 1")
    mean = (q1 + median + q3) / 3.0
    eta = 2.0 * stats.norm.ppf((0.75 * n - 0.125) / (n + 0.25))
    return mean, (q3 - q1) / eta
