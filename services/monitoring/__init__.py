"""Early warning (防止返贫动态监测): policy, signals, declarations, scans, alerts, cases."""
