"""Adoption: bring an existing ComfyUI (or A1111) models tree into the library, transactionally.

Modules, one job each: :mod:`.scan` (find model files and their folder keys), :mod:`.plan` (what
each file is, duplicates, totals, time estimate), :mod:`.journal` (the fsynced step journal in
``<state>/adopt/``), :mod:`.apply` (run/resume the steps), :mod:`.undo` (restore the original tree),
:mod:`.sidecars` (other tools' sidecar files and previews), :mod:`.fsutil` (atomic swaps, verified
copies).  The ``Library`` facade reaches them through :mod:`pumas_core.facade_adopt`.
"""
