"""Test-suite settings shared by tests/ and the tutorial notebooks."""
import os

# Tutorials run in their fast mode (smaller data, fewer epochs) under the test suite; the
# notebook kernels inherit this environment.
os.environ.setdefault("LAVA_PLASTIC_FAST", "1")
