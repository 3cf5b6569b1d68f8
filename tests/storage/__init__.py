"""Storage layer tests (a package so modules can share the harness)."""
