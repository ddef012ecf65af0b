"""Developer tools beside the paper's code: the benchmark (``python -m tools.bench``) and the
throwaway base-model probe whose logs notebook 02 plots (``tools/base_probe.py``)."""
