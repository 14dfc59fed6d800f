"""The Monte Carlo engine, the multi-year projection and the exact method."""
