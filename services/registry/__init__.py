"""The household register (建档立卡): the system of record for regions, households, members,
yearly economics, guarantees, help measures and cadres."""
