"""Kopilka benchmarks: how fast it is and how far from the machine's limit (``make bench``).

Each benchmark runs alone (``python -m bench.recording`` ...) or all together
(``python -m bench.run_all``); every run writes its figures to ``bench/out/<name>.json`` and
regenerates ``bench/RESULTS.md`` from all the figures present. Benchmarks use databases of their
own (``kopilka_bench*``), never the development or test databases, and are not part of the test
suite.
"""
