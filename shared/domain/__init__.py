"""Pure domain code: lifecycle, deadline and window arithmetic, evaluation, catalog models and loading. No I/O libraries, no settings."""
