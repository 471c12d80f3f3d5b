"""Helper package for the course "Transformers from scratch".

Students meet it in the first code cell of every notebook::

    import tfscourse
    tfscourse.setup()

Modules:
    environment  the notebook set-up (seeds, warnings, plotting defaults, Colab)
    colab        where the package is installed from, and the setup cell that does it
    widgets      attention-map widgets that always leave a static picture behind
    notebooks    maintainer tools: list assignments, normalise master notebooks
    cycle        the instructor's nbgrader cycle (release, autograde, feedback, grades)
    cli          the ``tfscourse`` command line
"""

from tfscourse.environment import grading_mode, on_colab, setup

__version__ = "0.1.0"

__all__ = ["__version__", "grading_mode", "on_colab", "setup"]
