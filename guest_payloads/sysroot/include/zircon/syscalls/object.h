// zx_object_get_info() topics and records, properties and thread states, as Zircon's
// <zircon/syscalls/object.h> (records for the topics zhb implements: HANDLE_BASIC, PROCESS,
// THREAD, VMAR, VMO, HANDLE_COUNT, PROCESS_HANDLE_STATS, TIMER, PROCESS_MAPS, PROCESS_VMOS).
#pragma once

#include <stdint.h>
#include <zircon/types.h>

// ---- Topics: __ZX_INFO_TOPIC(t, v) is topic t at record version v -------------------------
#define __ZX_INFO_TOPIC(t, v) ((zx_object_info_topic_t)((t) | ((v) << 28)))

typedef uint32_t zx_object_info_topic_t;
#define ZX_INFO_NONE ((zx_object_info_topic_t)0u)
#define ZX_INFO_HANDLE_VALID ((zx_object_info_topic_t)1u)
#define ZX_INFO_HANDLE_BASIC ((zx_object_info_topic_t)2u)  // zx_info_handle_basic_t[1]
#define ZX_INFO_PROCESS __ZX_INFO_TOPIC(3u, 1u)            // zx_info_process_t[1]
#define ZX_INFO_PROCESS_THREADS ((zx_object_info_topic_t)4u)
#define ZX_INFO_VMAR ((zx_object_info_topic_t)7u)  // zx_info_vmar_t[1]
#define ZX_INFO_JOB_CHILDREN ((zx_object_info_topic_t)8u)
#define ZX_INFO_JOB_PROCESSES ((zx_object_info_topic_t)9u)
#define ZX_INFO_THREAD ((zx_object_info_topic_t)10u)  // zx_info_thread_t[1]
#define ZX_INFO_THREAD_EXCEPTION_REPORT_V1 __ZX_INFO_TOPIC(11u, 0)
#define ZX_INFO_THREAD_EXCEPTION_REPORT __ZX_INFO_TOPIC(11u, 1)
#define ZX_INFO_TASK_STATS ((zx_object_info_topic_t)12u)
#define ZX_INFO_PROCESS_MAPS ((zx_object_info_topic_t)13u)
#define ZX_INFO_PROCESS_VMOS_V1 __ZX_INFO_TOPIC(14u, 0)
#define ZX_INFO_PROCESS_VMOS __ZX_INFO_TOPIC(14u, 1)
#define ZX_INFO_THREAD_STATS ((zx_object_info_topic_t)15u)
#define ZX_INFO_CPU_STATS ((zx_object_info_topic_t)16u)
#define ZX_INFO_KMEM_STATS ((zx_object_info_topic_t)17u)
#define ZX_INFO_RESOURCE ((zx_object_info_topic_t)18u)
#define ZX_INFO_HANDLE_COUNT ((zx_object_info_topic_t)19u)
#define ZX_INFO_BTI ((zx_object_info_topic_t)20u)
#define ZX_INFO_PROCESS_HANDLE_STATS ((zx_object_info_topic_t)21u)
#define ZX_INFO_SOCKET ((zx_object_info_topic_t)22u)
#define ZX_INFO_VMO_V1 __ZX_INFO_TOPIC(23u, 0)
#define ZX_INFO_VMO __ZX_INFO_TOPIC(23u, 1)  // zx_info_vmo_t[1]
#define ZX_INFO_JOB ((zx_object_info_topic_t)24u)
#define ZX_INFO_TIMER ((zx_object_info_topic_t)25u)
#define ZX_INFO_STREAM ((zx_object_info_topic_t)26u)
#define ZX_INFO_HANDLE_TABLE ((zx_object_info_topic_t)27u)
#define ZX_INFO_MSI ((zx_object_info_topic_t)28u)
#define ZX_INFO_GUEST_STATS ((zx_object_info_topic_t)29u)
#define ZX_INFO_TASK_RUNTIME_V1 __ZX_INFO_TOPIC(30u, 0)
#define ZX_INFO_TASK_RUNTIME __ZX_INFO_TOPIC(30u, 1)
#define ZX_INFO_KMEM_STATS_EXTENDED ((zx_object_info_topic_t)31u)
#define ZX_INFO_VCPU ((zx_object_info_topic_t)32u)

// Return codes of a killed task (zx_info_process_t.return_code).
#define ZX_TASK_RETCODE_SYSCALL_KILL ((int64_t)-1024)           // zx_task_kill()
#define ZX_TASK_RETCODE_OOM_KILL ((int64_t)-1025)               // the OOM killer
#define ZX_TASK_RETCODE_POLICY_KILL ((int64_t)-1026)            // job policy
#define ZX_TASK_RETCODE_VDSO_KILL ((int64_t)-1027)              // the vDSO
#define ZX_TASK_RETCODE_EXCEPTION_KILL ((int64_t)-1028)         // unhandled exception
#define ZX_TASK_RETCODE_CRITICAL_PROCESS_KILL ((int64_t)-1029)  // a critical process died

// ---- ZX_INFO_HANDLE_BASIC ------------------------------------------------------------------
typedef struct zx_info_handle_basic {
    zx_koid_t koid;
    zx_rights_t rights;
    zx_obj_type_t type;
    zx_koid_t related_koid;  // peer, parent or 0; fixed at creation
    uint32_t reserved;
    uint8_t padding1[4];
} zx_info_handle_basic_t;

// ---- ZX_INFO_PROCESS -----------------------------------------------------------------------
typedef uint32_t zx_info_process_flags_t;
#define ZX_INFO_PROCESS_FLAG_STARTED ((zx_info_process_flags_t)(1u << 0))
#define ZX_INFO_PROCESS_FLAG_EXITED ((zx_info_process_flags_t)(1u << 1))
#define ZX_INFO_PROCESS_FLAG_DEBUGGER_ATTACHED ((zx_info_process_flags_t)(1u << 2))

typedef struct zx_info_process {
    int64_t return_code;   // valid once EXITED; a ZX_TASK_RETCODE_* if killed
    zx_time_t start_time;  // valid once STARTED
    zx_info_process_flags_t flags;
    uint8_t padding1[4];
} zx_info_process_t;

// ---- ZX_INFO_THREAD ------------------------------------------------------------------------
typedef uint32_t zx_thread_state_t;

typedef struct zx_info_thread {
    zx_thread_state_t state;               // ZX_THREAD_STATE_*
    uint32_t wait_exception_channel_type;  // ZX_EXCEPTION_CHANNEL_TYPE_*
    zx_cpu_set_t cpu_affinity_mask;
} zx_info_thread_t;

#define ZX_THREAD_STATE_NEW ((zx_thread_state_t)0x0000u)
#define ZX_THREAD_STATE_RUNNING ((zx_thread_state_t)0x0001u)
#define ZX_THREAD_STATE_SUSPENDED ((zx_thread_state_t)0x0002u)
#define ZX_THREAD_STATE_BLOCKED ((zx_thread_state_t)0x0003u)  // only with a reason below
#define ZX_THREAD_STATE_DYING ((zx_thread_state_t)0x0004u)
#define ZX_THREAD_STATE_DEAD ((zx_thread_state_t)0x0005u)
#define ZX_THREAD_STATE_BLOCKED_EXCEPTION ((zx_thread_state_t)0x0103u)
#define ZX_THREAD_STATE_BLOCKED_SLEEPING ((zx_thread_state_t)0x0203u)
#define ZX_THREAD_STATE_BLOCKED_FUTEX ((zx_thread_state_t)0x0303u)
#define ZX_THREAD_STATE_BLOCKED_PORT ((zx_thread_state_t)0x0403u)
#define ZX_THREAD_STATE_BLOCKED_CHANNEL ((zx_thread_state_t)0x0503u)
#define ZX_THREAD_STATE_BLOCKED_WAIT_ONE ((zx_thread_state_t)0x0603u)
#define ZX_THREAD_STATE_BLOCKED_WAIT_MANY ((zx_thread_state_t)0x0703u)
#define ZX_THREAD_STATE_BLOCKED_INTERRUPT ((zx_thread_state_t)0x0803u)
#define ZX_THREAD_STATE_BLOCKED_PAGER ((zx_thread_state_t)0x0903u)
#define ZX_THREAD_STATE_BASIC(n) ((n) & 0xff)

// ---- ZX_INFO_VMAR --------------------------------------------------------------------------
typedef struct zx_info_vmar {
    uintptr_t base;
    size_t len;
} zx_info_vmar_t;

// ---- ZX_INFO_VMO ---------------------------------------------------------------------------
#define ZX_INFO_VMO_TYPE_PAGED (1u << 0)
#define ZX_INFO_VMO_TYPE_PHYSICAL (0u << 0)
#define ZX_INFO_VMO_TYPE(flags) ((flags) & (1u << 0))
#define ZX_INFO_VMO_RESIZABLE (1u << 1)
#define ZX_INFO_VMO_IS_COW_CLONE (1u << 2)
#define ZX_INFO_VMO_VIA_HANDLE (1u << 3)
#define ZX_INFO_VMO_VIA_MAPPING (1u << 4)
#define ZX_INFO_VMO_PAGER_BACKED (1u << 5)
#define ZX_INFO_VMO_CONTIGUOUS (1u << 6)
#define ZX_INFO_VMO_DISCARDABLE (1u << 7)
#define ZX_INFO_VMO_IMMUTABLE (1u << 8)

typedef struct zx_info_vmo {
    zx_koid_t koid;
    char name[ZX_MAX_NAME_LEN];
    uint64_t size_bytes;
    zx_koid_t parent_koid;  // 0 unless a child VMO
    size_t num_children;
    size_t num_mappings;
    size_t share_count;
    uint32_t flags;  // ZX_INFO_VMO_*
    uint8_t padding1[4];
    uint64_t committed_bytes;
    zx_rights_t handle_rights;  // valid with ZX_INFO_VMO_VIA_HANDLE
    uint32_t cache_policy;
    uint64_t metadata_bytes;
    uint64_t committed_change_events;
} zx_info_vmo_t;

// ---- ZX_INFO_PROCESS_MAPS (a process; READ): a depth-first pre-order walk -----------------
typedef struct zx_info_maps_mapping {
    zx_vm_option_t mmu_flags;  // ZX_VM_PERM_*
    uint8_t padding1[4];
    zx_koid_t vmo_koid;
    uint64_t vmo_offset;
    size_t committed_pages;  // pages of the mapped range backed by memory
    size_t populated_pages;
} zx_info_maps_mapping_t;

typedef uint32_t zx_info_maps_type_t;
#define ZX_INFO_MAPS_TYPE_NONE ((zx_info_maps_type_t)0u)
#define ZX_INFO_MAPS_TYPE_ASPACE ((zx_info_maps_type_t)1u)
#define ZX_INFO_MAPS_TYPE_VMAR ((zx_info_maps_type_t)2u)
#define ZX_INFO_MAPS_TYPE_MAPPING ((zx_info_maps_type_t)3u)

typedef struct zx_info_maps {
    char name[ZX_MAX_NAME_LEN];
    zx_vaddr_t base;
    size_t size;
    size_t depth;  // 0: the aspace, 1: the root VMAR, 2 and more: what they hold
    zx_info_maps_type_t type;
    uint8_t padding1[4];
    union {
        zx_info_maps_mapping_t mapping;
    } u;
} zx_info_maps_t;

// ---- ZX_INFO_HANDLE_COUNT (any object; INSPECT) -------------------------------------------
typedef struct zx_info_handle_count {
    uint32_t handle_count;  // handles to the object, in every process and in transit
} zx_info_handle_count_t;

// ---- ZX_INFO_PROCESS_HANDLE_STATS (a process; INSPECT) ------------------------------------
typedef struct zx_info_process_handle_stats {
    uint32_t handle_count[ZX_OBJ_TYPE_UPPER_BOUND];  // the process's handles, by object type
} zx_info_process_handle_stats_t;

// ---- ZX_INFO_TIMER (a timer; INSPECT) -----------------------------------------------------
typedef struct zx_info_timer {
    uint32_t options;      // ZX_TIMER_SLACK_* given to zx_timer_create()
    uint8_t padding1[4];
    zx_time_t deadline;    // of the pending zx_timer_set(), 0 if none
    zx_duration_t slack;   // of the pending zx_timer_set(), 0 if none
} zx_info_timer_t;

// ---- Properties (zx_object_get_property / zx_object_set_property) -------------------------
#define ZX_PROP_NAME ((uint32_t)3u)  // char[ZX_MAX_NAME_LEN]
#define ZX_PROP_PROCESS_DEBUG_ADDR ((uint32_t)5u)
#define ZX_PROP_PROCESS_VDSO_BASE_ADDRESS ((uint32_t)6u)  // uintptr_t
#define ZX_PROP_PROCESS_BREAK_ON_LOAD ((uint32_t)7u)
#define ZX_PROP_PROCESS_HW_TRACE_CONTEXT_ID ((uint32_t)8u)
#define ZX_PROP_SOCKET_RX_THRESHOLD 12u
#define ZX_PROP_SOCKET_TX_THRESHOLD 13u
#define ZX_PROP_JOB_KILL_ON_OOM 15u
#define ZX_PROP_EXCEPTION_STATE 16u
#define ZX_PROP_VMO_CONTENT_SIZE 17u  // uint64_t
#define ZX_PROP_EXCEPTION_STRATEGY 18u

// ZX_PROP_EXCEPTION_STATE values.
#define ZX_EXCEPTION_STATE_TRY_NEXT 0u
#define ZX_EXCEPTION_STATE_HANDLED 1u
#define ZX_EXCEPTION_STATE_THREAD_EXIT 2u

// ZX_PROP_EXCEPTION_STRATEGY values.
#define ZX_EXCEPTION_STRATEGY_FIRST_CHANCE 0u
#define ZX_EXCEPTION_STRATEGY_SECOND_CHANCE 1u

// ---- ZX_INFO_SOCKET ------------------------------------------------------------------------
typedef struct zx_info_socket {
    uint32_t options;         // the options the socket was created with
    uint32_t padding1;
    size_t rx_buf_max;        // bytes the receive buffer can hold
    size_t rx_buf_size;       // bytes in the receive buffer
    size_t rx_buf_available;  // bytes a read would return now (the first datagram's size)
    size_t tx_buf_max;        // the peer's receive buffer: what writes can fill
    size_t tx_buf_size;       // bytes in it
} zx_info_socket_t;
