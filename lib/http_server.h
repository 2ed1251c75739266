/*
 * http_server.h - what the two halves of the HTTP server helper share:
 * a request read (http_server.c) and the state of its answer
 * (http_respond.c).  Internal.
 */
#ifndef MTLS_HTTP_SERVER_H
#define MTLS_HTTP_SERVER_H

#include "http_conn.h"

enum resp_state { RESP_NONE, RESP_CHUNKED, RESP_LENGTH, RESP_CLOSE, RESP_SENT };

/*
 * What a response call has still to send: ours (a head, a chunk's size
 * line, with small data copied in), then the caller's buffer, then a fixed
 * tail.  A call that must wait for the socket (MTLS_WANT_*, non-blocking)
 * or that a signal cut (MTLS_ERR_INTERRUPTED) keeps it; made again with
 * the same arguments it sends the rest, and OpenSSL goes on inside a
 * record where it stopped.
 */
enum out_call { OUT_NONE, OUT_RESPOND, OUT_START, OUT_WRITE, OUT_END };
struct http_out {
	enum out_call call;         /* the call that has to be made again */
	size_t arg_len;             /* its length argument, to check it */
	char *own;                  /* ours, freed once sent */
	size_t own_len;
	size_t ext_len;             /* bytes of the caller's buffer */
	const char *tail;           /* static */
	size_t tail_len;
	int part;                   /* 0: own, 1: the caller's, 2: tail */
};

struct mtls_http_req {
	struct mtls *conn;
	struct http_head head;
	struct http_body reader;
	bool expect_continue;       /* 100 Continue owed before the body */
	char *body;                 /* the body read whole */
	size_t body_len, body_cap;
	enum resp_state resp;
	uint64_t resp_left;         /* bytes a streamed Content-Length owes */
	bool head_read;             /* the head is in; the body may follow */
	bool head_only;             /* HEAD: the body is not sent */
	struct http_out out;
};

#endif /* MTLS_HTTP_SERVER_H */
