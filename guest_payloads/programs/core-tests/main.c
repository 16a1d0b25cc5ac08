// core-tests: the kernel's user-mode conformance tests, printed as KTAP (ulib's <ktap.h>).
// Each *.c here holds a group of KTAP_CASEs written against Zircon's API; they run in link
// order. README "Guest SDK and test programs" lists the groups.
//
// `core-tests policy-child` is the helper job.c starts inside a restricted job: it tries
// zx_process_create in its own job and exits with -status (0 if allowed).
#include <ktap.h>
#include <string.h>

#include "core-tests.h"
#include "pbcheck.h"

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], POLICY_CHILD_ARG) == 0) {
        return policy_child();
    }
    if (argc > 1 && strcmp(argv[1], POLICY_CHILD_SOCKET_ARG) == 0) {
        return policy_child_socket();
    }
    if (argc > 1 && strcmp(argv[1], PB_CHILD_ARG) == 0) {
        return pb_child(argc, argv);
    }
    return ktap_main("core-tests");
}
