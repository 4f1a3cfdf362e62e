"""The task kinds, one module each; lstmsim/task_kinds.py is the registry that collects them."""
