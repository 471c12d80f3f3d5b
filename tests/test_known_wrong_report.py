"""The end-of-run count of hidden-block rejections (tests/known_wrong_report.py), on a fake suite.

The made-up tests record rejections the way tests/test_known_wrong.py does; the summary must
count them per notebook and list the crashes, also when pytest-xdist workers ran the tests.
"""

from __future__ import annotations

import pytest

from tests.fake_suite import run_suite

RECORDING = '''
import pytest

from tests.known_wrong_report import REJECTION_PROPERTY

RECORDS = [("01_a", "test_x", "assertion"), ("01_a", "test_y", "assertion"), ("01_a", "test_y", "crash"),
           ("02_b", "test_z", "assertion")]


@pytest.mark.parametrize("assignment, test_id, kind", RECORDS)
def test_case(assignment, test_id, kind, record_property):
    record_property(REJECTION_PROPERTY, (assignment, test_id, kind))
'''


@pytest.mark.parametrize("workers", [0, 2], ids=["one process", "xdist"])
def test_rejections_are_counted_per_notebook(tmp_path, workers):
    done = run_suite(tmp_path, {"test_cases.py": RECORDING}, "known_wrong_report", workers=workers)
    assert done.returncode == 0, done.stdout[-3000:]
    summary = done.stdout.split("how the hidden blocks rejected them", 1)[1]
    assert "01_a                          2 by assertion    1 by crash" in summary
    assert "    crashed: test_y (01_a-test_y-crash)" in summary
    assert "02_b                          1 by assertion    0 by crash" in summary
