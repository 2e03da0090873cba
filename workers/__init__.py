"""The ARQ worker: runs every service's jobs and schedules."""
