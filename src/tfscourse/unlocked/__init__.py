"""Reference answers of earlier notebooks, for the notebooks that build on them.

Each module here answers graded cells of one notebook and is published to students
only once that notebook's deadline has passed: ``tfscourse publish DEST --stage NN``
includes ``unlocked/<topic>.py`` only for notebooks before stage ``NN`` (the table is
``tfscourse_staff.publish.PUBLISHED_FROM``). In the instructor's installation every
module is present, and the grading scan (``tfscourse_staff.grading.tamper``) gives no
points to a graded cell whose answer comes from here.

    self_attention  notebook 01's numerically stable ``softmax`` (used from notebook 02 on)
    gpt             notebook 06's GPT, ``get_batch`` and ``lr_at`` (used by notebook 07)
"""
