"""How long a source may take by default: one place, light enough for the snapshot path."""

DEFAULT_TIMEOUT = 120.0  # a probe in another interpreter or a container
DEFAULT_NVML_TIMEOUT = 5.0  # the NVIDIA driver, which can hang
