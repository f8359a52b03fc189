"""descent-tui's terminal side: the Textual app, its screens, and the command line.

NumPy's BLAS gets one thread unless the user says otherwise: on a 2-core machine a second BLAS
thread fights the UI thread for the cores, and the small matrix products here gain nothing from
it (measured: one effective-batch training round took 1.5 s with two OpenBLAS threads, 28 ms with
one). This must run before NumPy is first imported, hence here.
"""

import os as _os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_var, "1")

# Textual repaints a changed screen at most TEXTUAL_FPS times a second (60 by default), and a key's
# effect waits for the next of those ticks: measured in the 2-D lab at max speed at 160x48, key to
# screen median 50 ms at 60 against 20 ms at 240 (a repaint happens only when something changed).
_os.environ.setdefault("TEXTUAL_FPS", "240")
