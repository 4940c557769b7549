"""Keras HDF5 FER classifiers imported into torch, without TensorFlow.

``hdf5`` reads the file with h5py, ``spec`` reduces its ``model_config`` to a small layer graph, ``graph``
runs that graph as a torch module, ``convert`` maps the weights and writes the :class:`ModelConfig`,
``reference`` is an independent NumPy forward pass the conversion is checked against, and ``zoo`` registers
``mini_xception_64``, ``mini_xception_48``, ``big_xception`` and the generic ``keras_graph``.
"""

from . import zoo  # noqa: F401  (registers the models)
