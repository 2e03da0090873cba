"""What every Povguard service shares: contracts, settings, db, errors, auth, audit, money, IDs."""
