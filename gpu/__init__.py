"""Array backend (cupy on a CUDA GPU, numpy otherwise) and batched indicator kernels."""
