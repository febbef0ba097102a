/* leaked.h - is a password in a leaked-password list? The k-anonymity range
 * API (Have I Been Pwned's Pwned Passwords, or a mirror of it) over HTTPS.
 *
 * Only the first 5 hex digits of the password's SHA-1 leave the process; the
 * reply lists the 35-hex suffixes sharing that prefix as "SUFFIX:COUNT" lines
 * and the match is made here. PAM-free: the caller decides what a result
 * means (leaked.on_error) and logs err->msg, which never holds the password,
 * its hash or any part of it. */
#ifndef SD_LEAKED_H
#define SD_LEAKED_H

#include <stddef.h>

#include "conf.h"
#include "util.h"

/* The largest reply accepted; a padded range is about 40 KiB. */
#define SD_LEAKED_MAX_REPLY (1024 * 1024)

enum sd_leaked_result {
	SD_LEAKED_NO = 0, /* the lookup worked and the password is not listed */
	SD_LEAKED_YES,	  /* listed with a count above 0 */
	SD_LEAKED_ERROR	  /* no answer: never to be taken as "not leaked" */
};

/* HEX = the upper-case hex SHA-1 of PASSWORD (40 chars + NUL). 0, -EINVAL
 * (NULL argument), -ELIBACC (libcrypto cannot be loaded) or -EIO (the
 * digest failed). */
int sd_leaked_hash(const char *password, char hex[41]);

/* Look for SUFFIX35 (35 hex digits) in a range reply of LEN bytes: lines
 * "SUFFIX:COUNT", 35 hex digits in either case, a colon, a decimal count
 * (digits only, fits a long), ended by LF or CRLF; the last line may lack
 * it. Returns 1 if SUFFIX35 is listed with COUNT > 0 (*COUNT = the count),
 * 0 if not listed or only with COUNT 0 (padding; *COUNT = 0), -EBADMSG if
 * any line is malformed (empty lines included, whatever else matched) or the
 * body is empty (a real range never is), -EINVAL if SUFFIX35 is not 35 hex
 * digits. COUNT may be NULL. */
int sd_leaked_parse(const char *body, size_t len, const char *suffix35, long *count);

/* Hash PASSWORD, GET c->leaked.url followed by the 5-hex prefix over HTTPS
 * (header "Add-Padding: true"; certificate and host checked, against only
 * c->leaked.ca_file when it is set; no redirects; proxy only from
 * c->leaked.proxy, never from the environment; connect and total timeouts of
 * c->leaked.timeout_ms; at most SD_LEAKED_MAX_REPLY bytes; status 200) and
 * match the reply. Does not look at c->leaked.check: the caller does. Any
 * failure is SD_LEAKED_ERROR with the reason in ERR, for the caller to log
 * and to handle as c->leaked.on_error says; that includes SSLKEYLOGFILE set
 * in the environment (libcurl would append TLS secrets to it). Blocks for at
 * most about c->leaked.timeout_ms. Thread-safe; libcurl is initialised once
 * per process and never cleaned up. */
enum sd_leaked_result sd_leaked_check(const struct sd_config *c, const char *password,
				      struct sd_err *err);

#endif
