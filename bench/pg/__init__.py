"""PostgreSQL scale-out benchmarks (run by hand, never in CI; see bench/README.md)."""
