"""The modality-agnostic attribution engine: tensors in, tensors out, Captum-compatible."""
