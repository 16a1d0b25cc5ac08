// The processargs bootstrap message: see <zhb/processargs.h>.
#include <zhb/processargs.h>

#include <lib/string.h>

// Checks that `count` NUL-terminated strings start at `off` inside the message.
static int check_strings(const struct processargs *pa, uint32_t off, uint32_t count) {
    if (count == 0) {
        return PROCESSARGS_OK;
    }
    if (off > pa->bytes) {
        return PROCESSARGS_ERR_STRINGS;
    }
    uint32_t pos = off;
    for (uint32_t i = 0; i < count; i++) {
        size_t len = strnlen((const char *)pa->msg + pos, pa->bytes - pos);
        if (len == pa->bytes - pos) {
            return PROCESSARGS_ERR_STRINGS;  // runs off the end of the message
        }
        pos += (uint32_t)len + 1;
    }
    return PROCESSARGS_OK;
}

int processargs_parse(struct processargs *pa, const void *msg, uint32_t bytes,
                      uint32_t num_handles) {
    if (bytes < sizeof(zx_proc_args_t)) {
        return PROCESSARGS_ERR_SIZE;
    }
    *pa = (struct processargs){.msg = msg, .bytes = bytes, .num_handles = num_handles};
    memcpy(&pa->header, msg, sizeof(pa->header));
    const zx_proc_args_t *h = &pa->header;
    if (h->protocol != ZX_PROCARGS_PROTOCOL || h->version != ZX_PROCARGS_VERSION) {
        return PROCESSARGS_ERR_PROTOCOL;
    }
    if (num_handles > 0 && (h->handle_info_off % 4 != 0 || h->handle_info_off > bytes ||
                            (uint64_t)num_handles * 4 > bytes - h->handle_info_off)) {
        return PROCESSARGS_ERR_HANDLES;
    }
    int status = check_strings(pa, h->args_off, h->args_num);
    if (status == PROCESSARGS_OK) {
        status = check_strings(pa, h->environ_off, h->environ_num);
    }
    if (status == PROCESSARGS_OK) {
        status = check_strings(pa, h->names_off, h->names_num);
    }
    return status;
}

uint32_t processargs_handle_info(const struct processargs *pa, uint32_t i) {
    uint32_t info;
    memcpy(&info, pa->msg + pa->header.handle_info_off + 4 * (size_t)i, sizeof(info));
    return info;
}

static uint32_t strings(const struct processargs *pa, uint32_t off, uint32_t count,
                        const char **out, uint32_t cap) {
    const char *s = (const char *)pa->msg + off;
    uint32_t n = count < cap ? count : cap;
    for (uint32_t i = 0; i < n; i++) {
        out[i] = s;
        s += strlen(s) + 1;
    }
    return n;
}

uint32_t processargs_args(const struct processargs *pa, const char **out, uint32_t cap) {
    return strings(pa, pa->header.args_off, pa->header.args_num, out, cap);
}

uint32_t processargs_environ(const struct processargs *pa, const char **out, uint32_t cap) {
    return strings(pa, pa->header.environ_off, pa->header.environ_num, out, cap);
}

uint32_t processargs_names(const struct processargs *pa, const char **out, uint32_t cap) {
    return strings(pa, pa->header.names_off, pa->header.names_num, out, cap);
}

// Appends `count` strings at *pos; false if they do not fit in cap.
static int put_strings(uint8_t *buf, size_t cap, size_t *pos, const char *const *list,
                       uint32_t count) {
    for (uint32_t i = 0; i < count; i++) {
        size_t len = strlen(list[i]) + 1;
        if (len > cap - *pos) {
            return 0;
        }
        memcpy(buf + *pos, list[i], len);
        *pos += len;
    }
    return 1;
}

size_t processargs_build(void *buf, size_t cap, const uint32_t *handle_info, uint32_t num_handles,
                         const char *const *args, uint32_t num_args, const char *const *environ,
                         uint32_t num_environ) {
    uint8_t *out = buf;
    size_t pos = sizeof(zx_proc_args_t) + 4 * (size_t)num_handles;
    if (pos > cap) {
        return 0;
    }
    zx_proc_args_t header = {
        .protocol = ZX_PROCARGS_PROTOCOL,
        .version = ZX_PROCARGS_VERSION,
        .handle_info_off = sizeof(zx_proc_args_t),
        .args_off = (uint32_t)pos,
        .args_num = num_args,
    };
    memcpy(out + header.handle_info_off, handle_info, 4 * (size_t)num_handles);
    if (!put_strings(out, cap, &pos, args, num_args)) {
        return 0;
    }
    header.environ_off = (uint32_t)pos;
    header.environ_num = num_environ;
    if (!put_strings(out, cap, &pos, environ, num_environ) || pos > UINT32_MAX) {
        return 0;
    }
    memcpy(out, &header, sizeof(header));
    return pos;
}
