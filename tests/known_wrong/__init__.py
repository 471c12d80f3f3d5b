"""Known-wrong answers, one module per assignment (named after the notebook).

Each module defines ``CASES``, a list of ``tests.nbharness.Wrong``: plausible
mistakes that the notebook's tests must reject. ``tests/test_known_wrong.py``
checks every case and that each hidden block rejects at least three of them.
"""
