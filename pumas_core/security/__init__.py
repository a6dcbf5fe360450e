"""Safety checks on model files, never unpickling anything: the allow-list pickle gate
(:mod:`.pickle_gate`, :mod:`.pickle_walk`, :mod:`.pickle_allowlist`, :mod:`.pickle_zip`), picklescan as a
second opinion (:mod:`.pickle_scan`), and path confinement (:mod:`.confine`)."""
