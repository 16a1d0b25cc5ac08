"""harness: boot ZBIs in QEMU and drive them over serial and QMP."""
