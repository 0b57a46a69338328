"""Mice vs agents: the agents' trials and strategies on the grid, and the comparison report."""
