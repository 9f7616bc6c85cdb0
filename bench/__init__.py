"""Benchmarks at scale: a reproducible data generator and the `make bench` suite.

Nothing here is imported by the product. `bench.generate` builds a data set with COPY into a
database of its own (`<db>_bench_<scale>`); `bench.run` measures every scenario against a
baseline taken in the same run; `bench.compare` shows how the ratios moved between two runs.
"""
