"""Reading trained models and turning their float32 weights into exact dyadic values.

``load_model(path)`` is the one entry point: it returns :class:`ExactWeights`,
whose ``sha256`` identifies the model in every certificate.
"""
from .dyadic import Dyadic, decode_bits, encode_bits
from .load import load_model, weights_from_arrays
from .weights import ExactWeights, ModelError, TensorBits

__all__ = ["Dyadic", "decode_bits", "encode_bits", "load_model", "weights_from_arrays",
           "ExactWeights", "ModelError", "TensorBits"]
