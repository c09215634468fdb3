"""Scheduling: series, trainings, sessions, rooms, speakers, change log and calendar feeds."""
