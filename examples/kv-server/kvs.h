/* kvs.h: the protocol of kv-server (see kv-server.c for the table). */
#ifndef KVS_H
#define KVS_H
enum { KVS_PUT = 1, KVS_GET = 2, KVS_ADD = 3, KVS_STASH = 4, KVS_FETCH = 5 };
#endif
