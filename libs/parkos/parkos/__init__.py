"""Park OS shared library."""
