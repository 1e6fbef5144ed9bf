/* libgnosis.c: the small runtime of the C kit: console printf, the mem and
 * str functions clang may call, the 64-bit division and shift helpers that
 * rv32im lacks (libgcc/compiler-rt names), node_write_data, kv_set,
 * gn_sleep and the server loop. Freestanding: nothing else is linked. */
#include "gnosis.h"

gn_key gn_stdout = 1;

/* The block encodings are design.md §11's, checked at every build. */
_Static_assert(GN_EXIT(3, JUMP_CALL, 0, 0) == 3, "CALL k3");
_Static_assert(GN_EXIT(15, JUMP_RETURN, 1, GN_KEYLIST(12, , , 15)) == 0xF00C0F5Fu, "RETURN k15, string, keys");
_Static_assert(GN_EXIT(1, JUMP_FORK, 0, GN_KEYLIST(2)) == 0x00020121u, "FORK k1 passing k2");
_Static_assert(GN_ENTRY(1, GN_KEYLIST(4, 5)) == 0x00540301u, "receive the string and two keys");

/* ---- mem and str ------------------------------------------------------- */

void *memcpy(void *d, const void *s, size_t n) {
    unsigned char *dp = d;
    const unsigned char *sp = s;
    while (n--)
        *dp++ = *sp++;
    return d;
}

void *memmove(void *d, const void *s, size_t n) {
    unsigned char *dp = d;
    const unsigned char *sp = s;
    if (dp < sp)
        return memcpy(d, s, n);
    while (n--)
        dp[n] = sp[n];
    return d;
}

void *memset(void *d, int c, size_t n) {
    unsigned char *dp = d;
    while (n--)
        *dp++ = (unsigned char)c;
    return d;
}

int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *p = a, *q = b;
    for (; n; n--, p++, q++)
        if (*p != *q)
            return *p - *q;
    return 0;
}

size_t strlen(const char *s) {
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b) {
    while (*a && *a == *b)
        a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n) {
    for (; n; n--, a++, b++)
        if (*a != *b || !*a)
            return (unsigned char)*a - (unsigned char)*b;
    return 0;
}

char *strcpy(char *d, const char *s) {
    char *r = d;
    while ((*d++ = *s++))
        ;
    return r;
}

char *strncpy(char *d, const char *s, size_t n) {
    size_t i = 0;
    for (; i < n && s[i]; i++)
        d[i] = s[i];
    for (; i < n; i++)
        d[i] = 0;
    return d;
}

char *strchr(const char *s, int c) {
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (!*s)
            return 0;
    }
}

void *memchr(const void *s, int c, size_t n) {
    const unsigned char *p = s;
    for (; n; n--, p++)
        if (*p == (unsigned char)c)
            return (void *)p;
    return 0;
}

/* ---- 64-bit helpers (the names clang calls on rv32) --------------------- */

uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t *rem) {
    if (d == 0) { /* as RV32IM's divu: all ones, remainder the dividend */
        if (rem)
            *rem = n;
        return ~(uint64_t)0;
    }
    uint64_t q = 0, r = 0;
    for (int i = 63; i >= 0; i--) {
        r = (r << 1) | ((n >> i) & 1);
        if (r >= d) {
            r -= d;
            q |= (uint64_t)1 << i;
        }
    }
    if (rem)
        *rem = r;
    return q;
}
uint64_t __udivdi3(uint64_t n, uint64_t d) { return __udivmoddi4(n, d, 0); }
uint64_t __umoddi3(uint64_t n, uint64_t d) {
    uint64_t r;
    __udivmoddi4(n, d, &r);
    return r;
}
int64_t __divdi3(int64_t n, int64_t d) {
    uint64_t un = n < 0 ? -(uint64_t)n : (uint64_t)n, ud = d < 0 ? -(uint64_t)d : (uint64_t)d;
    uint64_t q = __udivmoddi4(un, ud, 0);
    return (n < 0) != (d < 0) && d != 0 ? -(int64_t)q : (int64_t)q;
}
int64_t __moddi3(int64_t n, int64_t d) {
    uint64_t un = n < 0 ? -(uint64_t)n : (uint64_t)n, ud = d < 0 ? -(uint64_t)d : (uint64_t)d, r;
    __udivmoddi4(un, ud, &r);
    return n < 0 ? -(int64_t)r : (int64_t)r;
}
/* Shifts by 0..63 (what C allows). */
int64_t __ashldi3(int64_t a, int b) {
    uint32_t lo = (uint32_t)a, hi = (uint32_t)((uint64_t)a >> 32);
    if (b == 0)
        return a;
    if (b >= 32)
        return (int64_t)((uint64_t)(lo << (b - 32)) << 32);
    return (int64_t)(((uint64_t)((hi << b) | (lo >> (32 - b))) << 32) | (uint32_t)(lo << b));
}
uint64_t __lshrdi3(uint64_t a, int b) {
    uint32_t lo = (uint32_t)a, hi = (uint32_t)(a >> 32);
    if (b == 0)
        return a;
    if (b >= 32)
        return hi >> (b - 32);
    return ((uint64_t)(hi >> b) << 32) | ((lo >> b) | (hi << (32 - b)));
}
int64_t __ashrdi3(int64_t a, int b) {
    int32_t hi = (int32_t)((uint64_t)a >> 32);
    uint32_t lo = (uint32_t)a;
    if (b == 0)
        return a;
    if (b >= 32)
        return (int64_t)(hi >> (b - 32));
    return (int64_t)(((uint64_t)(uint32_t)(hi >> b) << 32) | ((lo >> b) | ((uint32_t)hi << (32 - b))));
}

/* ---- formatting -------------------------------------------------------- */

/* Where formatted text goes: a buffer, flushed to a console key when full
 * (CONSOLE >= 0) or truncated (a caller's snprintf buffer). */
struct out {
    char *buf;
    size_t cap, len;
    size_t total;
    int console;
};

static void out_flush(struct out *o) {
    if (o->console >= 0 && o->len)
        console_write((gn_key)o->console, o->buf, (uint32_t)o->len);
    if (o->console >= 0)
        o->len = 0;
}

static void out_char(struct out *o, char c) {
    o->total++;
    if (o->len + 1 >= o->cap) {
        if (o->console < 0)
            return;
        out_flush(o);
    }
    o->buf[o->len++] = c;
}

static void out_number(struct out *o, uint64_t v, unsigned base, int upper, int negative, int width, char pad,
                       int left) {
    char digits[24];
    int n = 0;
    const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    do {
        digits[n++] = set[v % base];
        v /= base;
    } while (v);
    int len = n + negative;
    if (negative && pad == '0')
        out_char(o, '-');
    for (; !left && width > len; width--)
        out_char(o, pad);
    if (negative && pad != '0')
        out_char(o, '-');
    while (n)
        out_char(o, digits[--n]);
    for (; left && width > len; width--)
        out_char(o, ' ');
}

static void format(struct out *o, const char *f, va_list ap) {
    for (; *f; f++) {
        if (*f != '%') {
            out_char(o, *f);
            continue;
        }
        f++;
        int left = 0, width = 0, longs = 0;
        char pad = ' ';
        for (; *f == '-' || *f == '0'; f++)
            *f == '-' ? (left = 1) : (pad = '0');
        if (*f == '*') {
            width = va_arg(ap, int);
            f++;
        }
        for (; *f >= '0' && *f <= '9'; f++)
            width = width * 10 + (*f - '0');
        for (; *f == 'l' || *f == 'z' || *f == 'h'; f++)
            longs += *f == 'l';
        if (left)
            pad = ' ';
        switch (*f) {
        case 'd':
        case 'i': {
            int64_t v = longs >= 2 ? va_arg(ap, long long) : longs ? va_arg(ap, long) : va_arg(ap, int);
            out_number(o, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, 0, v < 0, width, pad, left);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            uint64_t v = longs >= 2 ? va_arg(ap, unsigned long long)
                         : longs    ? va_arg(ap, unsigned long)
                                    : va_arg(ap, unsigned);
            out_number(o, v, *f == 'u' ? 10 : 16, *f == 'X', 0, width, pad, left);
            break;
        }
        case 'p':
            out_char(o, '0');
            out_char(o, 'x');
            out_number(o, (uintptr_t)va_arg(ap, void *), 16, 0, 0, 8, '0', 0);
            break;
        case 'c':
            out_char(o, (char)va_arg(ap, int));
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            int n = (int)strlen(s);
            for (; !left && width > n; width--)
                out_char(o, ' ');
            while (*s)
                out_char(o, *s++);
            for (; left && width > n; width--)
                out_char(o, ' ');
            break;
        }
        case '%':
            out_char(o, '%');
            break;
        case 0:
            return;
        default: /* unknown: print it as written */
            out_char(o, '%');
            out_char(o, *f);
        }
    }
}

int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap) {
    struct out o = {buf, n, 0, 0, -1};
    format(&o, fmt, ap);
    if (n)
        buf[o.len] = 0;
    return (int)o.total;
}

int snprintf(char *buf, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r;
}

int vkprintf(gn_key console, const char *fmt, va_list ap) {
    char buf[512];
    struct out o = {buf, sizeof buf + 1, 0, 0, (int)console};
    format(&o, fmt, ap);
    out_flush(&o);
    return (int)o.total;
}

int kprintf(gn_key console, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int r = vkprintf(console, fmt, ap);
    va_end(ap);
    return r;
}

int printf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int r = vkprintf(gn_stdout, fmt, ap);
    va_end(ap);
    return r;
}

int puts(const char *s) { return printf("%s\n", s); }

void gn_exit(uint32_t code) {
    register uint32_t a0 __asm__("a0") = code;
    for (;;)
        __asm__ volatile("ebreak" : : "r"(a0));
}

void gn_panic(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vkprintf(gn_stdout, fmt, ap);
    va_end(ap);
    gn_exit(TRAP_BREAKPOINT);
}

/* ---- helpers that need a buffer ------------------------------------------ */

uint32_t node_write_data(gn_key node, unsigned first, unsigned last, const void *values) {
    unsigned char msg[8 + 16 * 16];
    uint32_t range[2] = {first, last};
    unsigned n = last >= first && last < 16 ? last - first + 1 : 0;
    memcpy(msg, range, 8);
    memcpy(msg + 8, values, 16 * n);
    return KC(node, NODE_WRITE_DATA, STRFROM(msg, 8 + 16 * n));
}

uint32_t kv_set(gn_key kv, const char *key, const void *value, uint32_t vlen) {
    unsigned char msg[1 + KV_MAX_KEY + KV_MAX_VALUE];
    size_t klen = strlen(key);
    if (klen == 0 || klen > KV_MAX_KEY || vlen > KV_MAX_VALUE)
        return KV_RC_BAD_SIZE;
    msg[0] = (unsigned char)klen;
    memcpy(msg + 1, key, klen);
    memcpy(msg + 1 + klen, value, vlen);
    return KC(kv, KV_SET, STRFROM(msg, 1 + klen + vlen));
}

uint32_t gn_sleep(gn_key timer, gn_key bwait, uint64_t ns) {
    uint32_t rc = bwait_set(bwait, timer_read(timer) + ns);
    return rc ? rc : bwait_wait(bwait);
}

/* ---- the server loop ------------------------------------------------------- */

void gn_serve(const struct gn_server *s, gn_handler *handler, void *ctx) {
    struct gn_reply reply = {0};
    for (;;) {
        /* RETURN to the returner with the client's resume key as key 3: the
         * reply reaches the client only if that is a resume key to a waiting
         * domain (the first time it is DK(0): nothing is sent), and this
         * domain is available at once either way. */
        uint32_t exit = GN_EXIT(s->returner, JUMP_RETURN, 1, 0);
        exit |= 0xF00u | (reply.keys[0] & 0xF) << 16 | (reply.keys[1] & 0xF) << 20 | (reply.keys[2] & 0xF) << 24 |
                (s->caller & 0xF) << 28;
        uint32_t entry_keys = 0xF00u | (s->in[0] & 0xF) << 16 | (s->in[1] & 0xF) << 20 | (s->in[2] & 0xF) << 24 |
                              (s->caller & 0xF) << 28;
        uint32_t sent = 0, databyte = 0;
        struct gn_msg m = {.send = 1, .sbuf = reply.data, .slen = reply.len, .recv = 1, .rkeys = entry_keys,
                           .rbuf = s->buf, .rcap = s->cap, .rlen = &sent, .db = &databyte};
        uint32_t order = gn_jump(exit, reply.rc, m);
        struct gn_request req = {order, databyte, sent < s->cap ? sent : s->cap, sent, s->buf};
        reply = (struct gn_reply){0};
        handler(&req, &reply, ctx);
    }
}
