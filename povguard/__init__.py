"""The ``povguard`` command: run, migrate, seed and operate the whole system."""
