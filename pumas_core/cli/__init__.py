"""The ``pumas`` command line (thin: every command calls the ``Library`` facade)."""
