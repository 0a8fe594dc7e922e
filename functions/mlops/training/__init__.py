"""Training: runs (experiment tracking) and their life, fitting and ONNX export, the validation gate."""
