"""Sweeps: every figure's runs from one command, locally or on Slurm (`python -m numpy_model.sweep`).

The modules, in the order a run goes through them:

* ``common``   constants, small helpers, the environment of a run;
* ``folders``  a run folder (``Run``), its ``status.json``, and whether its process is alive;
* ``targets``  figure names, run folders and folders of run folders -> groups of runs;
* ``expand``   a figure's description -> its run folders;
* ``metrics``  the metrics of a saved run (status summary and collect);
* ``execute``  one run with status and logs (``exec``, what each local process or Slurm task runs);
* ``status``   the status table, and which runs to (re)run;
* ``local``    the local pool (at most N runs at a time);
* ``slurm``    one job array per figure, and waiting for it;
* ``collect``  one CSV of per-seed metrics;
* ``cli``      the command line.

``numpy_model/sweep.py`` re-exports the public names and keeps ``python -m numpy_model.sweep`` working.
"""
