"""Readers and writers: pose files, arenas, the rig's event log, BORIS labels, agent rollouts."""
