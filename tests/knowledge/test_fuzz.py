"""A short fuzz of the matcher and the knowledge-base loader in every test run; `bench/fuzz.py`
runs the same checks for as long as it is given."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from tests.knowledge.fuzzing import broken_guides, check_guide, check_match, questions


@pytest.fixture(scope="module")
def matcher(knowledge_library):
    return knowledge_library.matcher


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=questions)
def test_the_matcher_answers_anything_sensibly(matcher, question):
    check_match(matcher, question)


@settings(max_examples=200, deadline=None)
@given(guide=broken_guides())
def test_a_broken_guide_is_named_with_its_line_never_a_crash(guide):
    check_guide(*guide)
