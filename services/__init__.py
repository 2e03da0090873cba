"""The three Povguard services: registry, monitoring and funds."""
