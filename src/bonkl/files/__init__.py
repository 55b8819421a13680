"""File handling, below everything that reads or writes a file (``lm``, the CLI, the audit, the workflow).

* :mod:`~bonkl.files.atomic`: the package's one writer (atomic, never onto an input);
* :mod:`~bonkl.files.samples`: users' sample tables (CSV, JSONL, Parquet) read strictly;
* :mod:`~bonkl.files.intermediates`: the workflow's own samples, rewards and estimates, and their format;
* :mod:`~bonkl.files.keys`: the key that makes identical token sequences one outcome;
* :mod:`~bonkl.files.prompt_sets`: prompt files, checked before any model is loaded.
"""
