/*
 * http_server.h - what the two halves of the HTTP server helper share:
 * a request read (http_server.c) and the state of its answer
 * (http_respond.c).  Internal.
 */
#ifndef MTLS_HTTP_SERVER_H
#define MTLS_HTTP_SERVER_H

#include "http_conn.h"

enum resp_state { RESP_NONE, RESP_CHUNKED, RESP_LENGTH, RESP_CLOSE, RESP_SENT };

struct mtls_http_req {
	struct mtls *conn;
	struct http_head head;
	struct http_body reader;
	bool expect_continue;       /* 100 Continue owed before the body */
	char *body;                 /* the body read whole */
	size_t body_len, body_cap;
	enum resp_state resp;
	uint64_t resp_left;         /* bytes a streamed Content-Length owes */
	bool head_only;             /* HEAD: the body is not sent */
};

#endif /* MTLS_HTTP_SERVER_H */
