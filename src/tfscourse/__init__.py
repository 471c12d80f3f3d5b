"""Helper package for the course "Transformers from scratch".

Students meet it in the first code cell of every notebook::

    import tfscourse
    tfscourse.setup()

This is the *student package*: what a student's kernel imports, and all that students
install (``tfscourse publish`` writes it, alone, into the student-facing repository). It
holds no answer to a graded cell: the instructor's side (release, publication, grading,
reference solutions) is the separate package ``tfscourse_staff``, which nothing here
imports, and earlier notebooks' answers sit in ``unlocked/`` and are published only after
those notebooks' deadlines.

Modules:
    environment    the notebook set-up (seeds, warnings, plotting defaults, Colab)
    colab          where the package is installed from, and the setup cell that does it
    widgets        the attention explorer (an anywidget; static/ holds its JavaScript) and its PNG
    widget_page    the explorer as a standalone HTML page (browser tests, the widget benchmark)
    corpora        offline corpora (the Python reference bundled with CPython)
    mha_sketch     notebook 02: the multi-head attention sketch drawn from the student's shapes
    bpe_trace, hf_tokens   notebook 03: the step-by-step merge trace, Hugging Face tokens as bytes
    retrieval      notebook 04: captioned digits, tiny encoders, the caption-search widget
    lstm_diagram, lstm_gates, char_lstm   notebook 05: the cell diagram, the gate widget, the char model
    gpt_training, lm_corpus, training_view   notebook 06: the training loop, corpus/tokenizer, live loss view
    finetune       notebook 07: the classification task, pre-training cache, PEFT experiment
    unlocked       earlier notebooks' reference answers, published after their deadlines
"""

from tfscourse.environment import grading_mode, on_colab, setup

__version__ = "0.1.0"

__all__ = ["__version__", "grading_mode", "on_colab", "setup"]
