"""Domain code shared by every Lambda of the platform: plain Python over injected AWS clients."""
