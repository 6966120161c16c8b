"""Neuron attribution methods."""
__all__: list[str] = []
