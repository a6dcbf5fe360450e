"""Pumas Library's ComfyUI extension: HTTP routes, jobs and progress events, boot link sync.

Submodules: ``adapter`` (the only ComfyUI-facing code), ``routes`` (handlers over the
``pumas_core.facade.Library`` facade), ``security`` (request checks, path confinement),
``jobs`` (job registry and events), ``boot`` (boot sync), ``standalone`` (``pumas serve``).
Importing this package imports nothing heavy, so ``prestartup_script.py`` can load
``comfyui_pumas_node.boot`` quickly.
"""
