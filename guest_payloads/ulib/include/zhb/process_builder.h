// The process builder (ulib/process_builder/): starts a program from an ELF file in a VMO the
// way Fuchsia's ProcessBuilder does, in the same order of operations:
//
//   pb_create(job, name, executable VMO)   creates the process and its initial thread
//   pb_add_args / pb_add_environ / pb_add_handles, pb_set_loader_service, pb_set_vdso_vmo
//   pb_build                                loads the ELF file (or, with PT_INTERP, the dynamic
//                                           linker named in it, fetched from the loader
//                                           service), maps the vDSO and the stack and writes
//                                           the linker message (PT_INTERP only) and then the
//                                           main processargs message to the bootstrap channel
//   pb_start                                zx_process_start with what pb_build returned
//
// The builder keeps no static data (userboot, which has none, links it too) and borrows the
// caller's strings until pb_build. Every function that fails sets b->error (kind, status and
// a line of text); pb_build, failing, destroys the half-built process and closes every handle
// the builder held: nothing is left behind. pb_destroy drops a builder that is not built.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <zircon/syscalls/object.h>
#include <zircon/types.h>

#define PB_MAX_ARGS 64
#define PB_MAX_ENVIRON 64
#define PB_MAX_HANDLES 32  // added by the caller; the builder adds up to 8 of its own
#define PB_MESSAGE_BYTES 8192  // the most a processargs message may take (ulib's _start reads 8K)
#define PB_ERROR_TEXT 160
#define PB_DEFAULT_STACK_SIZE (256u * 1024u)  // ZIRCON_DEFAULT_STACK_SIZE
#define PB_LINKER_STACK_EXTRA 3072u           // PTHREAD_STACK_MIN: the linker's own use

// The seed's ProcessBuilderError kinds.
enum pb_error_kind {
    PB_OK = 0,
    PB_ERR_INVALID_ARG,        // a handle type the builder adds itself, too many of something
    PB_ERR_BAD_HANDLE,         // an invalid job, executable, loader, vDSO or startup handle
    PB_ERR_CREATE_PROCESS,     // zx_process_create failed
    PB_ERR_CREATE_THREAD,      // zx_thread_create failed
    PB_ERR_PROCESS_START,      // zx_process_start failed
    PB_ERR_ELF_PARSE,          // the executable, the linker or the vDSO is not a valid ELF file
    PB_ERR_ELF_LOAD,           // mapping its segments failed, or they need too much memory
    PB_ERR_PROCESSARGS,        // a processargs message does not fit
    PB_ERR_GENERIC_STATUS,     // a system call failed: the text says which step
    PB_ERR_INVALID_INTERP,     // PT_INTERP does not name the dynamic linker properly
    PB_ERR_LOADER_MISSING,     // PT_INTERP but no loader service
    PB_ERR_LOAD_DYNAMIC_LINKER,  // the loader service did not give us the dynamic linker
    PB_ERR_WRITE_BOOTSTRAP,    // zx_channel_write of a processargs message failed
    PB_ERR_DESTROY_RESERVATION,  // the low-address reservation could not be destroyed
};

struct pb_error {
    enum pb_error_kind kind;
    zx_status_t status;  // the seed's as_zx_status()
    char text[PB_ERROR_TEXT];
};

// Where a launcher's earlier builds placed each ET_DYN file (by the file VMO's koid): see
// pb_set_placements. Zero-initialize it and keep it as long as the launcher launches.
#define PB_PLACEMENTS 8
struct pb_placements {
    struct {
        zx_koid_t koid;
        uint64_t offset;  // in the root VMAR
    } at[PB_PLACEMENTS];
    uint32_t count;
};

struct process_builder {
    zx_handle_t self_vmar;   // borrowed: where the builder maps files to read them
    struct pb_placements *placements;  // borrowed, optional: see pb_set_placements
    zx_handle_t executable;  // owned
    zx_handle_t ldsvc;       // owned, optional
    zx_handle_t vdso;        // owned (required: userboot has no startup handles to take it from)
    zx_handle_t interp;      // owned, optional: the dynamic linker, instead of asking ldsvc
    zx_handle_t process, root_vmar, thread;  // owned
    uint64_t memory_limit;   // segments + stack must fit in it; 0: no limit
    const char *args[PB_MAX_ARGS];
    uint32_t num_args;
    const char *environ[PB_MAX_ENVIRON];
    uint32_t num_environ;
    zx_handle_t handles[PB_MAX_HANDLES];  // owned
    uint32_t handle_info[PB_MAX_HANDLES];
    uint32_t num_handles;
    struct pb_error error;
};

// What pb_build gives back: a process ready to start, its thread not yet running.
struct pb_built {
    zx_handle_t process;
    zx_handle_t root_vmar;
    zx_handle_t thread;
    zx_handle_t bootstrap;  // arg1 of zx_process_start
    uintptr_t entry;        // of the executable, or of the dynamic linker with PT_INTERP
    uintptr_t stack;        // the initial stack pointer
    uint64_t stack_size;    // the stack VMO's size
    uintptr_t vdso_base;    // arg2 of zx_process_start
    uintptr_t elf_base;     // where the executable (or the dynamic linker) starts
    uint32_t dynamic;       // 1: PT_INTERP, the dynamic linker was loaded
};

// Creates the process `name` in `job` (borrowed) and its thread; takes `executable` (a VMO
// with ZX_RIGHT_EXECUTE) even on failure. `self_vmar` is the caller's root VMAR.
zx_status_t pb_create(struct process_builder *b, zx_handle_t job, const char *name,
                      zx_handle_t executable, zx_handle_t self_vmar);

zx_status_t pb_add_args(struct process_builder *b, const char *const *args, uint32_t count);
zx_status_t pb_add_environ(struct process_builder *b, const char *const *vars, uint32_t count);

// Takes the handles (all of them, even on failure). PA_LDSVC_LOADER goes to
// pb_set_loader_service, PA_VMO_VDSO to pb_set_vdso_vmo. PA_PROC_SELF, PA_THREAD_SELF,
// PA_VMAR_ROOT, PA_VMAR_LOADED, PA_VMO_STACK, PA_VMO_EXECUTABLE and PA_NS_DIR are refused
// (PB_ERR_INVALID_ARG): the builder adds them itself. Nothing is added unless all are valid.
zx_status_t pb_add_handles(struct process_builder *b, const zx_handle_t *handles,
                           const uint32_t *info, uint32_t count);

// Each takes the handle (replacing, and closing, an earlier one).
zx_status_t pb_set_loader_service(struct process_builder *b, zx_handle_t ldsvc);
zx_status_t pb_set_vdso_vmo(struct process_builder *b, zx_handle_t vdso);

// Optional, not in Fuchsia's ProcessBuilder: the dynamic linker, the vDSO and an ET_DYN
// executable are placed where this launcher's earlier builds placed the same file VMO (same
// koid), if that spot is free, else at a new random base that `placements` records. One
// random slide per launcher and file instead of one per process (as Windows slides a DLL once
// per boot): every process then runs ld.so's code at the same addresses, so that QEMU TCG,
// which keys its translations on the virtual address, translates it once, not per launch.
// Not thread-safe: one builder at a time per `placements`. Not consumed.
void pb_set_placements(struct process_builder *b, struct pb_placements *placements);

// Not in the seed: the dynamic linker's VMO, for a caller that is itself the loader service
// and cannot answer its own LoadObject while pb_build waits (userboot, one thread). PT_INTERP
// still needs a loader service handle: the linker gets it.
zx_status_t pb_set_interp_vmo(struct process_builder *b, zx_handle_t interp);

// The stack pb_build makes for a static program: PT_GNU_STACK's p_memsz if not 0, else the
// default, rounded up to a page.
uint64_t pb_static_stack_size(uint64_t gnu_stack_memsz);

// The stack pb_build makes for the dynamic linker: room for the main message (bytes) and its
// handles, read by zx_channel_read, plus PB_LINKER_STACK_EXTRA, rounded up to a page.
uint64_t pb_linker_stack_size(size_t message_bytes, uint32_t num_handles);

// Builds the process. The builder is spent either way (pb_destroy is not needed after it).
zx_status_t pb_build(struct process_builder *b, struct pb_built *out);

// Starts a built process; the bootstrap channel, thread and VMAR handles are consumed and
// *process (if not NULL) gets the process handle, else it is closed.
zx_status_t pb_start(struct pb_built *built, zx_handle_t *process, struct pb_error *error);

// Kills the process and closes every handle (a builder that will not be built; a built
// process that will not be started).
void pb_destroy(struct process_builder *b);
void pb_built_destroy(struct pb_built *built);

// A new VMO holding bytes[0..size), made executable-capable (for BOOTFS files).
zx_status_t pb_vmo_from_bytes(const void *bytes, size_t size, zx_handle_t *vmo);

// ---- Shared with ld.so (the one ELF loader) -------------------------------------------------

// Where pb_load_elf maps: a VMAR of the target process, its info, and where errors go.
struct pb_loader {
    zx_handle_t vmar;
    zx_info_vmar_t root;
    struct pb_error *error;
    uint64_t hint;  // ET_DYN: the offset in the root VMAR to try first; 0: a random one
};

struct elf_info;

// Maps every PT_LOAD of the parsed file in `file_vmo` (info: what elf_parse found in it)
// into l->vmar: ET_EXEC at its link address, ET_DYN in a new sub-VMAR at a random base
// (*loaded gets it if not NULL, else it is closed; at l->hint if that is free). Read-only and executable segments map
// file_vmo's pages directly (it needs ZX_RIGHT_EXECUTE for code); writable ones map a
// copy-on-write snapshot of their file pages (zx_vmo_create_child, so file_vmo needs
// ZX_RIGHT_DUPLICATE; up to 512 file bytes are copied instead) and zero-filled pages past
// them. *bias is what was added to the link
// addresses.
zx_status_t pb_load_elf(const struct pb_loader *l, const struct elf_info *info,
                        zx_handle_t file_vmo, uint64_t *bias, zx_handle_t *loaded);

// Sets *e (the text: `what`, or "`what` failed (status N)" for a failed call) and returns
// status.
zx_status_t pb_set_error(struct pb_error *e, enum pb_error_kind kind, zx_status_t status,
                         const char *what);

// The seed's name of an error kind ("ElfParse", ...).
const char *pb_error_kind_name(enum pb_error_kind kind);

// fuchsia.ldsvc.Loader wire format (the hand-written ldmsg subset: 16-byte FIDL header, then
// for LoadObject/Config a string as size + presence + bytes padded to 8; the reply carries
// rv and a handle-presence word).
#define LDMSG_OP_DONE 0x63BA6B76D3671001ull
#define LDMSG_OP_LOAD_OBJECT 0x48C5A151D6DF2853ull
#define LDMSG_OP_CONFIG 0x6A8A1A1464632841ull
#define LDMSG_MAX_NAME 1000u
#define LDMSG_REQ_MAX 1024u
#define LDMSG_RSP_SIZE 32u

// Encodes a request with one string into buf (LDMSG_REQ_MAX bytes); returns its size, 0 if
// the name is too long.
uint32_t ldmsg_encode(void *buf, uint32_t txid, uint64_t ordinal, const char *name, size_t len);
// Decodes a request: its ordinal, txid and string (pointing into buf); -1 if malformed.
int ldmsg_decode(const void *buf, uint32_t size, uint64_t *ordinal, uint32_t *txid,
                 const char **name, size_t *len);
// Encodes the reply to txid/ordinal with status rv and a handle present or not.
void ldmsg_encode_reply(void *buf, uint32_t txid, uint64_t ordinal, zx_status_t rv,
                        int has_handle);

// Asks the loader service for `name`: a VMO on success.
zx_status_t ldsvc_load_object(zx_handle_t ldsvc, const char *name, size_t len, zx_handle_t *vmo);
