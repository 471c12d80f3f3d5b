"""Reference solutions that answer graded cells: staff-side only, never published to students.

    bpe    notebook 03's byte-level BPE (``ByteLevelBPE``, the fast and the naive trainer);
           the benchmark and 03's hidden speed test use it
"""
