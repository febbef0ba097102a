/* location.h - where a sign-in comes from: PAM_RHOST reduced to a network. */
#ifndef SD_LOCATION_H
#define SD_LOCATION_H

#include <stddef.h>

#define SD_LOCATION_LEN 264 /* "host:" + a 253-byte DNS name */

struct sd_net {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;
};

/* Parse "192.0.2.0/24", "2001:db8::/48" or a bare address (a host route).
 * Host bits beyond the prefix must be zero. 0 or -EINVAL. */
int sd_net_parse(const char *s, struct sd_net *out);

/* 1 if RHOST is an address inside one of NETS. */
int sd_net_match_any(const struct sd_net *nets, size_t n, const char *rhost);

/* The location of a sign-in: the /24 of an IPv4 address (IPv4-mapped IPv6
 * included), the /64 of an IPv6 address, "host:" and the lower-cased host
 * name when RHOST is a name, "local" when RHOST is NULL or empty. Returns 0, or
 * -EINVAL when RHOST is neither an address nor a plausible host name (the
 * caller then treats the location as never seen). */
int sd_location_of(const char *rhost, char out[SD_LOCATION_LEN]);

#endif
