/* gnosis.h: the Gnosis C kit (design.md §23, "Writing domains in C and Rust").
 *
 * Invoking a key, KeyKOS style: the exit and entry blocks are computed from
 * the key registers named, at compile time when they are constants.
 *
 *     rc = KC(KV, KV_GET, STRFROM(name, len), STRTO(buf, sizeof buf, &n));
 *     rc = KC(BANK, BANK_CREATE_PAGE, KEYSTO(PAGE));
 *     KF(CALLER, 0, STRUCTFROM(result));          // FORK: reply and go on
 *
 * Options, in any order: STRFROM(p, n) / STRUCTFROM(s) the string sent;
 * KEYSFROM(k0, k1, k2, k3) the keys sent (an empty position sends DK(0));
 * STRTO(p, cap, &len) / STRUCTTO(s) where the reply string goes (len: the
 * length sent, which may be more than cap); KEYSTO(r0, r1, r2, r3) the key
 * registers the reply's keys go to (0 or empty: not stored); DBTO(&db) the
 * databyte of the start key a message came through. KC returns the return
 * code. Key registers are numbers 0..15; register 0 always reads DK(0).
 *
 * The constants (order codes, return codes, alleged types, trap codes) are
 * in gnosis_abi.h, generated from the kernel's own kernel/src/abi.rs.
 */
#ifndef GNOSIS_H
#define GNOSIS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "gnosis_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A key register: 0..15. */
typedef unsigned gn_key;

/* ---- exit and entry blocks (design.md §11) ----------------------------- */

/* Up to four key registers as an exit/entry block's key mask and nibbles.
 * An empty position is register 0 (DK(0) when sent, dropped when received). */
#define GN__KEY(r, i) ((((uint32_t)(r + 0)) & 0xFu) << (16 + 4 * (i)))
#define GN__KEYS1(a) (0x100u | GN__KEY(a, 0))
#define GN__KEYS2(a, b) (0x300u | GN__KEY(a, 0) | GN__KEY(b, 1))
#define GN__KEYS3(a, b, c) (0x700u | GN__KEY(a, 0) | GN__KEY(b, 1) | GN__KEY(c, 2))
#define GN__KEYS4(a, b, c, d) (0xF00u | GN__KEY(a, 0) | GN__KEY(b, 1) | GN__KEY(c, 2) | GN__KEY(d, 3))
#define GN__NARG(...) GN__NARG_(__VA_ARGS__, 4, 3, 2, 1, 0)
#define GN__NARG_(a, b, c, d, n, ...) n
#define GN__CAT(a, b) GN__CAT_(a, b)
#define GN__CAT_(a, b) a##b
#define GN_KEYLIST(...) GN__CAT(GN__KEYS, GN__NARG(__VA_ARGS__))(__VA_ARGS__)

/* The exit block: key register KEY, jump JUMP, SEND 1 to send the string,
 * KEYS from GN_KEYLIST. A constant expression for constant arguments. */
#define GN_EXIT(key, jump, send, keys) \
    (((uint32_t)(key) & 0xFu) | ((uint32_t)(jump) << 4) | ((send) ? 0x40u : 0u) | (keys))
/* The entry block: RECV 1 to receive the string, KEYS from GN_KEYLIST. */
#define GN_ENTRY(recv, keys) (((recv) ? 1u : 0u) | (keys))

/* What an invocation sends and receives (filled by the options below). */
struct gn_msg {
    int gn__first; /* lets KC's initializer start empty */
    uint32_t xkeys, rkeys;
    int send, recv;
    const void *sbuf;
    uint32_t slen;
    void *rbuf;
    uint32_t rcap;
    uint32_t *rlen, *db;
};

#define STRFROM(p, n) .send = 1, .sbuf = (p), .slen = (uint32_t)(n)
#define STRUCTFROM(s) STRFROM(&(s), sizeof(s))
#define KEYSFROM(...) .xkeys = GN_KEYLIST(__VA_ARGS__)
#define STRTO(p, cap, lenp) .recv = 1, .rbuf = (p), .rcap = (uint32_t)(cap), .rlen = (lenp)
#define STRUCTTO(s) STRTO(&(s), sizeof(s), 0)
#define KEYSTO(...) .rkeys = GN_KEYLIST(__VA_ARGS__)
#define DBTO(p) .db = (p)

/* One ecall (a0 order, a1 exit block, a2 entry block, a3/a4 send, a5/a6
 * receive; back: a0 rc, a1 databyte, a2 length sent). */
static inline __attribute__((always_inline)) uint32_t gn_jump(uint32_t exit, uint32_t order, struct gn_msg m) {
    register uint32_t a0 __asm__("a0") = order;
    register uint32_t a1 __asm__("a1") = exit;
    register uint32_t a2 __asm__("a2") = GN_ENTRY(m.recv, m.rkeys);
    register const void *a3 __asm__("a3") = m.sbuf;
    register uint32_t a4 __asm__("a4") = m.send ? m.slen : 0;
    register void *a5 __asm__("a5") = m.rbuf;
    register uint32_t a6 __asm__("a6") = m.recv ? m.rcap : 0;
    __asm__ volatile("ecall" : "+r"(a0), "+r"(a1), "+r"(a2) : "r"(a3), "r"(a4), "r"(a5), "r"(a6) : "memory");
    if (m.rlen)
        *m.rlen = a2;
    if (m.db)
        *m.db = a1;
    return a0;
}

#define GN__JUMP(jump, key, order, ...)                                                                 \
    __extension__({                                                                                    \
        struct gn_msg gn__m = {.gn__first = 0, __VA_ARGS__};                                           \
        gn_jump(GN_EXIT((key), (jump), gn__m.send, gn__m.xkeys), (uint32_t)(order), gn__m);             \
    })
/* CALL: wait for the reply (a fresh return key goes as key 3). */
#define KC(key, order, ...) GN__JUMP(JUMP_CALL, key, order, __VA_ARGS__)
/* FORK: send and go on running. */
#define KF(key, order, ...) GN__JUMP(JUMP_FORK, key, order, __VA_ARGS__)
/* RETURN: send, become available, and wait for the next message (KEYSTO,
 * STRTO and DBTO say where it goes). */
#define KR(key, order, ...) GN__JUMP(JUMP_RETURN, key, order, __VA_ARGS__)

/* ---- every key -------------------------------------------------------- */

/* The key's alleged type (AKT_*; RC_OK/0 for DK(0)'s RC_DATA is KT+1). */
static inline uint32_t gn_alleged_type(gn_key k) { return KC(k, KT); }

/* ---- data keys -------------------------------------------------------- */
static inline uint64_t data_value(gn_key k) {
    uint64_t v = 0;
    KC(k, 0, STRUCTTO(v));
    return v;
}

/* ---- pages ------------------------------------------------------------ */
static inline uint32_t page_make_read_only(gn_key page, gn_key to) { return KC(page, PAGE_MAKE_READ_ONLY, KEYSTO(to)); }
static inline uint32_t page_clear(gn_key page) { return KC(page, PAGE_CLEAR); }
/* 0 if the page is all zero, 1 if not. */
static inline uint32_t page_test_zero(gn_key page) { return KC(page, PAGE_TEST_ZERO); }
static inline uint32_t page_write(gn_key page, uint32_t offset, const void *p, uint32_t n) {
    return KC(page, PAGE_WRITE + offset, STRFROM(p, n));
}

/* ---- nodes (fetch and sense keys answer node_fetch and node_databyte) --- */
static inline uint32_t node_fetch(gn_key node, unsigned slot, gn_key to) { return KC(node, NODE_FETCH + slot, KEYSTO(to)); }
/* Puts key register FROM in SLOT; the old key goes to TO. */
static inline uint32_t node_swap(gn_key node, unsigned slot, gn_key from, gn_key to) {
    return KC(node, NODE_SWAP + slot, KEYSFROM(from), KEYSTO(to));
}
static inline uint32_t gn__node_make(gn_key node, uint32_t order, uint8_t databyte, gn_key to) {
    return KC(node, order, STRFROM(&databyte, 1), KEYSTO(to));
}
static inline uint32_t node_make_fetch(gn_key node, uint8_t db, gn_key to) { return gn__node_make(node, NODE_MAKE_FETCH, db, to); }
static inline uint32_t node_make_segment(gn_key node, uint8_t db, gn_key to) { return gn__node_make(node, NODE_MAKE_SEGMENT, db, to); }
static inline uint32_t node_make_node(gn_key node, uint8_t db, gn_key to) { return gn__node_make(node, NODE_MAKE_NODE, db, to); }
static inline uint32_t node_make_meter(gn_key node, gn_key to) { return KC(node, NODE_MAKE_METER, KEYSTO(to)); }
static inline uint32_t node_make_sense(gn_key node, gn_key to) { return KC(node, NODE_MAKE_SENSE, KEYSTO(to)); }
/* 0 if key register K designates this node. */
static inline uint32_t node_compare(gn_key node, gn_key k) { return KC(node, NODE_COMPARE, KEYSFROM(k)); }
static inline uint32_t node_clear(gn_key node) { return KC(node, NODE_CLEAR); }
static inline uint32_t node_databyte(gn_key node) { return KC(node, NODE_DATABYTE); }
/* Writes data keys into slots FIRST..LAST: 16-byte images at VALUES. */
uint32_t node_write_data(gn_key node, unsigned first, unsigned last, const void *values);

/* ---- domains ---------------------------------------------------------- */
struct gn_control {
    uint32_t pc, trap_code, trap_detail, state;
};
static inline uint32_t domain_get_slot(gn_key d, unsigned slot, gn_key to) { return KC(d, DOMAIN_GET_SLOT + slot, KEYSTO(to)); }
static inline uint32_t domain_swap_slot(gn_key d, unsigned slot, gn_key from, gn_key to) {
    return KC(d, DOMAIN_SWAP_SLOT + slot, KEYSFROM(from), KEYSTO(to));
}
static inline uint32_t domain_get_key(gn_key d, unsigned reg, gn_key to) { return KC(d, DOMAIN_GET_KEY + reg, KEYSTO(to)); }
static inline uint32_t domain_swap_key(gn_key d, unsigned reg, gn_key from, gn_key to) {
    return KC(d, DOMAIN_SWAP_KEY + reg, KEYSFROM(from), KEYSTO(to));
}
static inline uint32_t domain_make_start(gn_key d, uint8_t databyte, gn_key to) {
    return KC(d, DOMAIN_MAKE_START, STRFROM(&databyte, 1), KEYSTO(to));
}
static inline uint32_t domain_make_available(gn_key d) { return KC(d, DOMAIN_MAKE_AVAILABLE); }
static inline uint32_t domain_make_fault_key(gn_key d, gn_key to) { return KC(d, DOMAIN_MAKE_FAULT_KEY, KEYSTO(to)); }
static inline uint32_t domain_make_busy(gn_key d, gn_key to) { return KC(d, DOMAIN_MAKE_BUSY, KEYSTO(to)); }
static inline uint32_t domain_make_return_key(gn_key d, gn_key to) { return KC(d, DOMAIN_MAKE_RETURN_KEY, KEYSTO(to)); }
static inline uint32_t domain_get_control(gn_key d, struct gn_control *c) {
    return KC(d, DOMAIN_GET_CONTROL, STRTO(c, sizeof *c, 0));
}
static inline uint32_t domain_put_control(gn_key d, const struct gn_control *c) {
    return KC(d, DOMAIN_PUT_CONTROL, STRFROM(c, 12));
}
/* REGS: pc, then x1..x31. */
static inline uint32_t domain_get_registers(gn_key d, uint32_t regs[32]) { return KC(d, DOMAIN_GET_REGS, STRTO(regs, 128, 0)); }
static inline uint32_t domain_put_registers(gn_key d, const uint32_t regs[32]) { return KC(d, DOMAIN_PUT_REGS, STRFROM(regs, 128)); }
static inline uint32_t domain_replace_memory(gn_key d, gn_key segment, uint32_t pc) {
    return KC(d, DOMAIN_REPLACE_MEMORY, KEYSFROM(segment), STRUCTFROM(pc));
}
/* 0 if key register K is a gate (start or return key) to this domain. */
static inline uint32_t domain_compare(gn_key d, gn_key k) { return KC(d, DOMAIN_COMPARE, KEYSFROM(k)); }

/* ---- node and page ranges --------------------------------------------- */
static inline uint32_t range_create(gn_key range, uint64_t offset, gn_key to) { return KC(range, RANGE_CREATE, STRUCTFROM(offset), KEYSTO(to)); }
static inline uint32_t range_create_clear(gn_key range, uint64_t offset, gn_key to) {
    return KC(range, RANGE_CREATE_CLEAR, STRUCTFROM(offset), KEYSTO(to));
}
/* The offset of key register K's object (RANGE_RC_NOT_IN_RANGE if none). */
static inline uint32_t range_identify(gn_key range, gn_key k, uint64_t *offset) {
    uint32_t n;
    return KC(range, RANGE_IDENTIFY, KEYSFROM(k), STRTO(offset, 8, &n));
}
static inline uint32_t range_sever(gn_key range, gn_key k, gn_key to) { return KC(range, RANGE_SEVER, KEYSFROM(k), KEYSTO(to)); }
static inline uint32_t range_destroy(gn_key range, gn_key k) { return KC(range, RANGE_DESTROY, KEYSFROM(k)); }
static inline uint32_t range_destroy_at(gn_key range, uint64_t offset) { return KC(range, RANGE_DESTROY_AT, STRUCTFROM(offset)); }

/* ---- the console: a device key, or a start key to the console domain --- */
static inline uint32_t console_write(gn_key console, const void *p, uint32_t n) { return KC(console, CONSOLE_WRITE, STRFROM(p, n)); }
/* Reads up to CAP bytes of input from a console device key; waits for some. */
static inline uint32_t console_read(gn_key device, void *p, uint32_t cap, uint32_t *len) {
    return KC(device, CONSOLE_READ, STRUCTFROM(cap), STRTO(p, cap, len));
}
/* Console domain: mute the channels whose bits are set. */
static inline uint32_t console_mute(gn_key console, uint32_t mask) { return KC(console, CONSOLE_DOMAIN_MUTE, STRUCTFROM(mask)); }

/* ---- misc keys --------------------------------------------------------- */
/* The returner: RETURN through it with a resume key as key 3 (RESUME) sends
 * RC, the string and keys K0..K2 to that key only if it is a resume key to a
 * waiting domain; this domain then waits, available, for its next message
 * (gn_serve does this in a loop). */
static inline uint32_t returner_reply(gn_key returner, gn_key resume, uint32_t rc, const void *p, uint32_t n,
                                      gn_key k0, gn_key k1, gn_key k2) {
    uint32_t exit = GN_EXIT(returner, JUMP_RETURN, 1, 0) | 0xF00u | (k0 & 0xFu) << 16 | (k1 & 0xFu) << 20 |
                    (k2 & 0xFu) << 24 | (resume & 0xFu) << 28;
    struct gn_msg m = {.send = 1, .sbuf = p, .slen = n};
    return gn_jump(exit, rc, m);
}
static inline uint32_t domain_tool_make_domain(gn_key tool, gn_key node, gn_key to) {
    return KC(tool, DOMAIN_TOOL_MAKE_DOMAIN, KEYSFROM(node), KEYSTO(to));
}
/* K identified by BRAND with one of the DOMAIN_TOOL_IDENTIFY_* orders: the key's databyte (segments and
   meters: keeper slot * 256 + the keeper key's databyte) and TO a node key to the root (or the segment or
   meter node); DOMAIN_TOOL_RC_NO if it is not such a key. */
static inline uint32_t domain_tool_identify(gn_key tool, uint32_t order, gn_key k, gn_key brand, gn_key to) {
    return KC(tool, order, KEYSFROM(k, brand), KEYSTO(to));
}
static inline uint32_t keybits_get(gn_key keybits, gn_key k, uint8_t out[16]) { return KC(keybits, KEYBITS_GET, KEYSFROM(k), STRTO(out, 16, 0)); }
static inline uint32_t dkc_from_u64(gn_key dkc, uint64_t value, gn_key to) { return KC(dkc, DKC_FROM_U64, STRUCTFROM(value), KEYSTO(to)); }
/* An 11-byte data key from a 16-byte image (rc 1: its first 5 bytes were not zero). */
static inline uint32_t dkc_from_image(gn_key dkc, const uint8_t image[16], gn_key to) {
    return KC(dkc, DKC_FROM_IMAGE, STRFROM(image, 16), KEYSTO(to));
}
/* DISCRIM_CLASS_* of key register K. */
static inline uint32_t discrim_classify(gn_key discrim, gn_key k) { return KC(discrim, DISCRIM_CLASSIFY, KEYSFROM(k)); }
static inline uint32_t discrim_discreet(gn_key discrim, gn_key k) { return KC(discrim, DISCRIM_DISCREET, KEYSFROM(k)); }
/* 0 if key registers A and B hold the same key. */
static inline uint32_t discrim_compare(gn_key discrim, gn_key a, gn_key b) { return KC(discrim, DISCRIM_COMPARE, KEYSFROM(a, b)); }
/* The system time, in ns. */
static inline uint64_t timer_read(gn_key timer) {
    uint64_t now = 0;
    KC(timer, TIMER_READ, STRUCTTO(now));
    return now;
}
static inline uint32_t bwait_set(gn_key bwait, uint64_t wake_ns) { return KC(bwait, BWAIT_SET, STRUCTFROM(wake_ns)); }
/* Waits until the wake time (0; at a restart the wait ends early with 0). */
static inline uint32_t bwait_wait(gn_key bwait) { return KC(bwait, BWAIT_WAIT); }
/* Sleeps NS nanoseconds of system time. */
uint32_t gn_sleep(gn_key timer, gn_key bwait, uint64_t ns);
/* Waits for a checkpoint taken at or after T (0; RC_RESTARTED after a restart). */
static inline uint32_t checkpoint_wait(gn_key ckpt, uint64_t t) { return KC(ckpt, CKPT_WAIT, STRUCTFROM(t)); }
/* Takes a checkpoint now (T = the system time now) and waits for it. */
static inline uint32_t checkpoint_take(gn_key ckpt, uint64_t now) { return KC(ckpt, CKPT_TAKE, STRUCTFROM(now)); }
static inline uint32_t journalize_page(gn_key journalize, gn_key page) { return KC(journalize, JOURNALIZE_PAGE, KEYSFROM(page)); }
static inline uint32_t migrate_wait(gn_key migrate) { return KC(migrate, MIGRATE_WAIT); }
/* Moves these home frames (u64 each, at most 512) to the front of the migration. */
static inline uint32_t migrate_these(gn_key migrate, const uint64_t *homes, uint32_t n) {
    return KC(migrate, MIGRATE_THESE, STRFROM(homes, 8 * n));
}
/* Directory entries from FIRST: (home, frame) u64 pairs into BUF (MIGRATE_RC_DONE past the end). */
static inline uint32_t migrate_read(gn_key migrate, uint32_t first, void *buf, uint32_t cap, uint32_t *len) {
    return KC(migrate, MIGRATE_READ, STRUCTFROM(first), STRTO(buf, cap, len));
}
static inline uint32_t device_creator_console(gn_key creator, gn_key to) { return KC(creator, DEVICE_CREATOR_CONSOLE, KEYSTO(to)); }
/* Traps this domain (code 9, detail CODE) after logging TEXT. */
static inline uint32_t error_trap(gn_key error, uint32_t code, const char *text, uint32_t n) { return KC(error, code, STRFROM(text, n)); }

/* ---- system domains --------------------------------------------------- */
static inline uint32_t bank_create_node(gn_key bank, gn_key to) { return KC(bank, BANK_CREATE_NODE, KEYSTO(to)); }
static inline uint32_t bank_create_page(gn_key bank, gn_key to) { return KC(bank, BANK_CREATE_PAGE, KEYSTO(to)); }
static inline uint32_t bank_destroy_node(gn_key bank, gn_key k) { return KC(bank, BANK_DESTROY_NODE, KEYSFROM(k)); }
static inline uint32_t bank_destroy_page(gn_key bank, gn_key k) { return KC(bank, BANK_DESTROY_PAGE, KEYSFROM(k)); }
static inline uint32_t bank_sever_page(gn_key bank, gn_key k, gn_key to) { return KC(bank, BANK_SEVER_PAGE, KEYSFROM(k), KEYSTO(to)); }
/* How many more nodes (BANK_NODES_AVAILABLE) or pages (BANK_PAGES_AVAILABLE). */
static inline uint32_t bank_available(gn_key bank, uint32_t order) {
    uint32_t n = 0;
    KC(bank, order, STRUCTTO(n));
    return n;
}
/* A sub-bank with limits (UINT32_MAX: none). */
static inline uint32_t bank_create_bank(gn_key bank, uint32_t nodes, uint32_t pages, gn_key to) {
    uint32_t limits[2] = {nodes, pages};
    return KC(bank, BANK_CREATE_BANK, STRUCTFROM(limits), KEYSTO(to));
}
static inline uint32_t bank_destroy(gn_key bank) { return KC(bank, BANK_DESTROY); }
/* Key-value store: 0 durable; KV_RC_MISSING full; KV_RC_BAD_SIZE. */
uint32_t kv_set(gn_key kv, const char *key, const void *value, uint32_t vlen);
/* 0 and the value (its length in *LEN); KV_RC_MISSING if not set. */
static inline uint32_t kv_get(gn_key kv, const char *key, uint32_t klen, void *buf, uint32_t cap, uint32_t *len) {
    return KC(kv, KV_GET, STRFROM(key, klen), STRTO(buf, cap, len));
}
static inline uint32_t kv_delete(gn_key kv, const char *key, uint32_t klen) { return KC(kv, KV_DELETE, STRFROM(key, klen)); }
static inline uint32_t kv_count(gn_key kv) { return KC(kv, KV_COUNT); }

/* ---- servers ------------------------------------------------------------ */

/* A request as a server receives it. */
struct gn_request {
    uint32_t order;    /* the order code */
    uint32_t databyte; /* of the start key it came through */
    uint32_t len;      /* bytes of the string in data (at most the buffer) */
    uint32_t sent;     /* bytes the client sent (more than len: truncated) */
    const unsigned char *data;
};
/* The reply a handler fills: rc, a string, and up to three key registers
 * (0: DK(0)). */
struct gn_reply {
    uint32_t rc;
    const void *data;
    uint32_t len;
    gn_key keys[3];
};
/* How a server receives: the returner's key register (install --key
 * returner), where the client's keys 0..2 and its resume key go, and the
 * request buffer. GN_SERVER(returner, buffer) gives the defaults. */
struct gn_server {
    gn_key returner;
    gn_key caller;
    gn_key in[3];
    void *buf;
    uint32_t cap;
};
#define GN_SERVER(returner_reg, buffer) \
    ((struct gn_server){.returner = (returner_reg), .caller = 15, .in = {12, 13, 14}, .buf = (buffer), .cap = sizeof(buffer)})
typedef void gn_handler(const struct gn_request *req, struct gn_reply *reply, void *ctx);
/* Forever: become available, take a request, call HANDLER, and send its
 * reply through the returner, which passes it on only to a resume key of a
 * waiting domain, so no client can make the server wait. */
__attribute__((noreturn)) void gn_serve(const struct gn_server *server, gn_handler *handler, void *ctx);

/* ---- libgnosis: the console, strings, program exit --------------------- */

/* The key register printf and puts write to (install --key console first: 1). */
extern gn_key gn_stdout;
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kprintf(gn_key console, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int vkprintf(gn_key console, const char *fmt, va_list ap);
int snprintf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
int puts(const char *s);
/* Stops the domain: ebreak with a0 = CODE (gnosis exec: exit status 0 for 0). */
__attribute__((noreturn)) void gn_exit(uint32_t code);
/* Traps with a message on the console first (assert's way out). */
__attribute__((noreturn)) void gn_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define gn_assert(c) ((c) ? (void)0 : gn_panic("%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #c))

void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strcpy(char *d, const char *s);
char *strncpy(char *d, const char *s, size_t n);
char *strchr(const char *s, int c);
void *memchr(const void *s, int c, size_t n);

/* crt0 calls main(uint32_t order, const void *msg, uint32_t len) with the
 * registers a0, a3 and a4 held at entry (all 0 for installed and exec'd
 * programs, which start running rather than called); `int main(void)` is
 * fine too. Its return value goes to gn_exit. */

#ifdef __cplusplus
}
#endif
#endif
