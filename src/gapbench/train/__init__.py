"""Training and evaluation loops, checkpoints, metrics files."""
