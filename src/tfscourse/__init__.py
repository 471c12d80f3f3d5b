"""Helper package for the course "Transformers from scratch".

Students meet it in the first code cell of every notebook::

    import tfscourse
    tfscourse.setup()

Modules:
    environment    the notebook set-up (seeds, warnings, plotting defaults, Colab)
    colab          where the package is installed from, and the setup cell that does it
    widgets        attention-map widgets that always leave a static picture behind
    data           offline corpora (the Python reference bundled with CPython)
    reference      small reference functions later notebooks may import (stable softmax)
    mha_sketch     notebook 02: the multi-head attention sketch drawn from the student's shapes
    bpe, bpe_trace notebook 03: a fast byte-level BPE and the step-by-step merge trace
    retrieval      notebook 04: captioned digits, tiny encoders, the caption-search widget
    lstm_diagram, lstm_gates, char_lstm   notebook 05: the cell diagram, the gate widget, the char model
    gpt, text_data, training_view         notebook 06: the reference GPT, corpus/tokenizer, live loss view
    finetune       notebook 07: the classification task, pre-training cache, PEFT experiment
    notebooks      maintainer tools: list assignments, text sources -> master notebooks, cell roles
    submissions    build submissions from a release (examples, tests)
    nbgrader_runs  nbgrader from this Python: its scripts on PATH, throw-away course copies
    grading        ``tfscourse grade``: sandboxed, parallel, repairing, tamper-scanning grading
    cycle          the instructor's cycle (release, grade, feedback, grades table)
    cli            the ``tfscourse`` command line
"""

from tfscourse.environment import grading_mode, on_colab, setup

__version__ = "0.1.0"

__all__ = ["__version__", "grading_mode", "on_colab", "setup"]
