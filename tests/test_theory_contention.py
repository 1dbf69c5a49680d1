"""The universal scalability law's defaults and limits: with no serial share and no crosstalk N cores do N
cores' work; sigma alone is Amdahl; the core count is named with its range."""

import pytest

from chapter1 import analytic


def test_usl_defaults_scale_perfectly_and_each_term_defaults_to_zero():
    assert analytic.usl_capacity(8) == 8.0 and analytic.usl_capacity(100_000) == 100_000.0
    assert analytic.usl_capacity(8, 0.1) == pytest.approx(8 / 1.7, rel=1e-12)            # Amdahl: kappa 0
    assert analytic.usl_capacity(8, kappa=0.01) == pytest.approx(8 / 1.56, rel=1e-12)     # crosstalk only


@pytest.mark.parametrize("cores", [100_001, 0])
def test_usl_core_count_is_named_with_its_range(cores):
    with pytest.raises(ValueError, match=rf"^cores must be a whole number in the range \[1, 100,000\]; got {cores}$"):
        analytic.usl_capacity(cores)
