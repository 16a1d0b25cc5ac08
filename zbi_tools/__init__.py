"""zbi_tools: read, check and build Zircon Boot Images (ZBI)."""
