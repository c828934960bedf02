"""The model service: features, labels, walk-forward datasets, a torch model, metrics, a file registry
and batched inference. Imports only gpu, numpy, torch, safetensors, tqdm and the standard library."""
