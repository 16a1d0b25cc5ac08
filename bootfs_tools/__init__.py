"""bootfs_tools: read, check and build BOOTFS images."""
