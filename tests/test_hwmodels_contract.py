"""Every registered cost model against Contract 2: names, units, options, totals, breakdowns, static metrics."""

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

import hwmodels
from hwmodels.memory import SPARSE_FORMATS, memory_bits

from .test_profile import profiles


@given(profiles(), st.sampled_from(SPARSE_FORMATS), st.integers(1, 64))
def test_memory_at_other_bits_equals_the_rebuilt_profile(profile, sparse_format, bits) -> None:
    # The fast path (no profile rebuilt) against the slow reference, Profile.with_bits.
    assert memory_bits(profile, sparse_format, bits) == memory_bits(profile.with_bits(bits), sparse_format)
