"""Independent NumPy reference implementations that tests compare mlfront against (one module per area)."""
