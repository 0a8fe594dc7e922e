"""One construct per concern: storage, pipeline, serving, monitoring."""
