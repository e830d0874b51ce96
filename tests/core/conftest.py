"""tests/core: let pytest explain a failed assertion inside the replay helpers as it does in a test."""

import pytest

# The replay tables compare in tests.core.replay_cases (check_in_process, check_cli); without this a failing
# case there would say only "AssertionError" instead of showing the diff of the parts it names.
pytest.register_assert_rewrite("tests.core.replay_cases")
