"""Sample audio, recordings and services that the tests and the benchmarks share (never the product)."""
