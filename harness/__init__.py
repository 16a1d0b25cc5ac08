"""harness: boot ZBIs in QEMU and drive them over serial and QMP.

Modules, bottom up:

    errors    the HarnessError tree (structured fields; GuestError carries the console tail)
    profiles  per-architecture QEMU settings as frozen dataclasses, in one registry, each
              with its emulated-hardware variants (the matrix)
    console   the guest's console contract as bytes regexes; parse_console(), tail()
    qmp       QmpEvent, EventLog, QmpChannel (qemu.qmp's QMPClient on its own thread)
    outcome   Status (PASS < TIMEOUT < NO_OUTPUT < FAIL < CRASH), classify(), Outcome
    lockfile  flock-based locks shared by parallel workers
    leash     a watchdog process that kills QEMU and removes temp dirs if the harness dies
    image     build_guest() (incremental make), build_image() / pack_image() with zbi_tools
    machine   Machine: QEMU as a context manager (launch, expect, wait_exit, shutdown); boot();
              TimeLimit (CPU + wall time) for its waits
    accel     --accel=auto|tcg|kvm: KVM only when usable and measured faster to start
    elf       read_elf(): an ELF64 file's type and PT_LOAD segments (ElfError on bad ones)
    symbolize kernel_backtrace(): the kernel's panic backtrace through llvm-symbolizer;
              user_faults(): user-fault PCs in the program, userboot or the vDSO
    gdb       `boot --gdb`: gdbstub endpoint and the gdb-multiarch command line with symbols
    ktap      parse_ktap(): KTAP cases with their console excerpts; a cut-short run's crashes
    suites    KtapSuite (case names read from C sources), run_suite() -> SuiteRun, SUITES
    plugin    the pytest plugin (options, per-arch and per-KTAP-case parametrization, fixtures,
              suite runs shared by xdist workers, SIGTERM as an interrupt)
    nightly   the nightly runner: matrix, reruns (FLAKY/FAILED/QUARANTINED), JUnit, HTML, SQLite
    cli       `python -m harness boot|image|accel|nightly`
"""
