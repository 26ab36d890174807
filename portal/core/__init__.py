"""What every feature stands on: places, people and roles, access, audit, settings, time."""
