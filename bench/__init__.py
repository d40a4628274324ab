"""regwatch benchmarks: each module prints figures as ratios to baselines of the same run."""
