"""Safety checks on model files: pickle scanning (:mod:`.pickle_scan`), never unpickling anything."""
