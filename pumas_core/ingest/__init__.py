"""Getting files into the library: content sniffing (:mod:`.formats`), hashing, grouping, the importer.

Submodules are imported on demand (``from pumas_core.ingest.formats import sniff``) so that
importing this package stays cheap.
"""
