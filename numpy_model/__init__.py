"""numpy_model: batched NumPy simulator of cortical dendritic error-neuron microcircuits."""
__version__ = "0.1.0"
