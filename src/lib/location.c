/* location.c - PAM_RHOST to a network location, and trusted-network tests. */
#include "config.h"

#include "location.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Parse an address; IPv4-mapped IPv6 becomes plain IPv4. */
static int parse_addr(const char *s, int *family, unsigned char addr[16])
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		*family = AF_INET;
		memcpy(addr, &a4, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		if (memcmp(a6.s6_addr, v4mapped, 12) == 0) {
			*family = AF_INET;
			memcpy(addr, a6.s6_addr + 12, 4);
		} else {
			*family = AF_INET6;
			memcpy(addr, a6.s6_addr, 16);
		}
		return 0;
	}
	return -EINVAL;
}

static void mask_bits(unsigned char *addr, size_t len, unsigned prefix)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned bits = prefix > i * 8 ? prefix - (unsigned)i * 8 : 0;

		if (bits >= 8)
			continue;
		addr[i] &= (unsigned char)(0xff00u >> bits);
	}
}

int sd_net_parse(const char *s, struct sd_net *out)
{
	char buf[64];
	unsigned char masked[16];
	const char *slash;
	size_t alen, len;
	unsigned long prefix;
	char *end;

	slash = strchr(s, '/');
	len = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (parse_addr(buf, &out->family, out->addr) != 0)
		return -EINVAL;
	alen = out->family == AF_INET ? 4 : 16;
	if (slash == NULL) {
		out->prefix = (unsigned)alen * 8;
		return 0;
	}
	if (slash[1] < '0' || slash[1] > '9')
		return -EINVAL;
	errno = 0;
	prefix = strtoul(slash + 1, &end, 10);
	if (errno != 0 || *end != '\0' || strlen(slash + 1) > 3)
		return -EINVAL;
	/* "::ffff:10.0.0.0/104" style prefixes are counted on the IPv6 form. */
	if (out->family == AF_INET && strchr(buf, ':') != NULL) {
		if (prefix < 96 || prefix > 128)
			return -EINVAL;
		prefix -= 96;
	}
	if (prefix > alen * 8)
		return -EINVAL;
	out->prefix = (unsigned)prefix;
	memcpy(masked, out->addr, alen);
	mask_bits(masked, alen, out->prefix);
	if (memcmp(masked, out->addr, alen) != 0)
		return -EINVAL; /* host bits set: almost always a typo */
	return 0;
}

int sd_net_match_any(const struct sd_net *nets, size_t n, const char *rhost)
{
	unsigned char addr[16];
	int family;
	size_t i;

	if (rhost == NULL || parse_addr(rhost, &family, addr) != 0)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char a[16];
		size_t alen = family == AF_INET ? 4 : 16;

		if (nets[i].family != family)
			continue;
		memcpy(a, addr, alen);
		mask_bits(a, alen, nets[i].prefix);
		if (memcmp(a, nets[i].addr, alen) == 0)
			return 1;
	}
	return 0;
}

static int plausible_hostname(const char *s)
{
	size_t n = strlen(s);
	size_t i;

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_'))
			return 0;
	}
	return s[0] != '.' && s[0] != '-';
}

int sd_location_of(const char *rhost, char out[SD_LOCATION_LEN])
{
	unsigned char addr[16];
	char text[INET6_ADDRSTRLEN];
	int family;
	size_t i;

	if (rhost == NULL || rhost[0] == '\0') {
		snprintf(out, SD_LOCATION_LEN, "local");
		return 0;
	}
	if (parse_addr(rhost, &family, addr) == 0) {
		if (family == AF_INET) {
			mask_bits(addr, 4, 24);
			inet_ntop(AF_INET, addr, text, sizeof(text));
			snprintf(out, SD_LOCATION_LEN, "%s/24", text);
		} else {
			mask_bits(addr, 16, 64);
			inet_ntop(AF_INET6, addr, text, sizeof(text));
			snprintf(out, SD_LOCATION_LEN, "%s/64", text);
		}
		return 0;
	}
	if (!plausible_hostname(rhost)) {
		snprintf(out, SD_LOCATION_LEN, "invalid");
		return -EINVAL;
	}
	/* "host:" keeps a remote host named "local" apart from the console. */
	memcpy(out, "host:", 5);
	for (i = 0; rhost[i] != '\0'; i++) {
		char c = rhost[i];

		out[5 + i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[5 + i] = '\0';
	return 0;
}
