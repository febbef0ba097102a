#include "config.h"

/* test_location.c - PAM_RHOST to a location, network parsing and matching. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "../../src/lib/location.h"

static void expect_loc(const char *rhost, const char *want)
{
	char out[SD_LOCATION_LEN];

	memset(out, 'X', sizeof(out));
	if (sd_location_of(rhost, out) != 0)
		fail_msg("sd_location_of(\"%s\") failed", rhost ? rhost : "(null)");
	assert_string_equal(out, want);
}

static void expect_invalid(const char *rhost)
{
	char out[SD_LOCATION_LEN];

	memset(out, 'X', sizeof(out));
	assert_int_equal(sd_location_of(rhost, out), -EINVAL);
	assert_string_equal(out, "invalid");
}

/* ---- sd_location_of -------------------------------------------------- */

static void test_loc_ipv4(void **unused)
{
	expect_loc("192.0.2.55", "192.0.2.0/24");
	expect_loc("192.0.2.0", "192.0.2.0/24");
	expect_loc("192.0.2.255", "192.0.2.0/24");
	expect_loc("10.1.2.3", "10.1.2.0/24");
	expect_loc("255.255.255.255", "255.255.255.0/24");
	expect_loc("0.0.0.0", "0.0.0.0/24");
}

static void test_loc_ipv4_same_network(void **unused)
{
	char a[SD_LOCATION_LEN], b[SD_LOCATION_LEN], c[SD_LOCATION_LEN];

	assert_int_equal(sd_location_of("198.51.100.1", a), 0);
	assert_int_equal(sd_location_of("198.51.100.254", b), 0);
	assert_int_equal(sd_location_of("198.51.101.1", c), 0);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
}

static void test_loc_ipv6(void **unused)
{
	expect_loc("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64");
	expect_loc("2001:db8:1:2::", "2001:db8:1:2::/64");
	expect_loc("2001:DB8:1:2:FFFF:FFFF:FFFF:FFFF", "2001:db8:1:2::/64");
	expect_loc("2001:db8::1", "2001:db8::/64");
	expect_loc("::1", "::/64");
	expect_loc("fe80::1234:5678:9abc:def0", "fe80::/64");
	/* a different /64 is a different location */
	expect_loc("2001:db8:1:3::1", "2001:db8:1:3::/64");
}

static void test_loc_ipv4_mapped(void **unused)
{
	expect_loc("::ffff:192.0.2.55", "192.0.2.0/24");
	expect_loc("::FFFF:203.0.113.9", "203.0.113.0/24");
	expect_loc("::ffff:c000:0237", "192.0.2.0/24");
}

static void test_loc_hostname(void **unused)
{
	expect_loc("Host-1.Example.ORG", "host:host-1.example.org");
	expect_loc("localhost", "host:localhost");
	expect_loc("a_b.example", "host:a_b.example");
	expect_loc("x", "host:x");
	/* A remote host called "local" is not the console. */
	expect_loc("local", "host:local");
	expect_loc("LOCAL", "host:local");
}

static void test_loc_local(void **unused)
{
	expect_loc(NULL, "local");
	expect_loc("", "local");
}

static void test_loc_invalid(void **unused)
{
	char name253[254], name254[255];

	expect_invalid("host name");
	expect_invalid(" host");
	expect_invalid("host\n");
	expect_invalid("ho\tst");
	expect_invalid("ho\x01st");
	expect_invalid("ho\x7fst");
	expect_invalid("h\xc3\xa9te");
	expect_invalid("host/24");
	expect_invalid("user@host");
	expect_invalid("host:22");
	expect_invalid("fe80::1%eth0");
	expect_invalid(".leading-dot");
	expect_invalid("-leading-dash");
	expect_invalid("192.0.2.1 decision=allow");

	/* DNS names up to 253 bytes are remembered; longer are not names. */
	memset(name253, 'a', sizeof(name253) - 1);
	name253[sizeof(name253) - 1] = '\0';
	{
		char want[SD_LOCATION_LEN];

		snprintf(want, sizeof(want), "host:%s", name253);
		expect_loc(name253, want);
	}
	memset(name254, 'a', sizeof(name254) - 1);
	name254[sizeof(name254) - 1] = '\0';
	expect_invalid(name254);
}

/* ---- sd_net_parse ---------------------------------------------------- */

static void test_net_parse_v4(void **unused)
{
	struct sd_net n;
	const unsigned char a[4] = {192, 0, 2, 0};
	const unsigned char h[4] = {192, 0, 2, 7};

	assert_int_equal(sd_net_parse("192.0.2.0/24", &n), 0);
	assert_int_equal(n.family, AF_INET);
	assert_int_equal(n.prefix, 24);
	assert_memory_equal(n.addr, a, 4);

	assert_int_equal(sd_net_parse("192.0.2.7", &n), 0);
	assert_int_equal(n.family, AF_INET);
	assert_int_equal(n.prefix, 32);
	assert_memory_equal(n.addr, h, 4);

	assert_int_equal(sd_net_parse("192.0.2.7/32", &n), 0);
	assert_int_equal(n.prefix, 32);
	assert_int_equal(sd_net_parse("0.0.0.0/0", &n), 0);
	assert_int_equal(n.prefix, 0);
	assert_int_equal(sd_net_parse("10.0.0.0/8", &n), 0);
	assert_int_equal(n.prefix, 8);
	assert_int_equal(sd_net_parse("192.0.2.128/25", &n), 0);
	assert_int_equal(n.prefix, 25);
}

static void test_net_parse_v6(void **unused)
{
	struct sd_net n;
	unsigned char want[16];

	assert_int_equal(sd_net_parse("2001:db8::/48", &n), 0);
	assert_int_equal(n.family, AF_INET6);
	assert_int_equal(n.prefix, 48);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::", want), 1);
	assert_memory_equal(n.addr, want, 16);

	assert_int_equal(sd_net_parse("2001:db8::1", &n), 0);
	assert_int_equal(n.family, AF_INET6);
	assert_int_equal(n.prefix, 128);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", want), 1);
	assert_memory_equal(n.addr, want, 16);

	assert_int_equal(sd_net_parse("::/0", &n), 0);
	assert_int_equal(n.prefix, 0);
	assert_int_equal(sd_net_parse("2001:db8:0:1::/64", &n), 0);
	assert_int_equal(n.prefix, 64);
	assert_int_equal(sd_net_parse("2001:db8::1/128", &n), 0);
	assert_int_equal(n.prefix, 128);
}

/* "::ffff:10.0.0.0/104" is a network written in IPv4-mapped form; its prefix
 * counts on the IPv6 form (location.c says so) and it becomes 10.0.0.0/8. */
static void test_net_parse_v4_mapped(void **unused)
{
	struct sd_net n;
	const unsigned char a[4] = {10, 0, 0, 0};
	const unsigned char h[4] = {10, 0, 0, 1};

	assert_int_equal(sd_net_parse("::ffff:10.0.0.1", &n), 0);
	assert_int_equal(n.family, AF_INET);
	assert_int_equal(n.prefix, 32);
	assert_memory_equal(n.addr, h, 4);

	assert_int_equal(sd_net_parse("::ffff:10.0.0.0/104", &n), 0);
	assert_int_equal(n.family, AF_INET);
	assert_int_equal(n.prefix, 8);
	assert_memory_equal(n.addr, a, 4);

	assert_int_equal(sd_net_parse("::ffff:10.0.0.1/128", &n), 0);
	assert_int_equal(n.family, AF_INET);
	assert_int_equal(n.prefix, 32);
	assert_memory_equal(n.addr, h, 4);
}

static void test_net_parse_v4_mapped_bad(void **unused)
{
	struct sd_net n;

	/* shorter than the mapped prefix itself, too long, or host bits set */
	assert_int_equal(sd_net_parse("::ffff:10.0.0.0/64", &n), -EINVAL);
	assert_int_equal(sd_net_parse("::ffff:10.0.0.0/8", &n), -EINVAL);
	assert_int_equal(sd_net_parse("::ffff:10.0.0.0/129", &n), -EINVAL);
	assert_int_equal(sd_net_parse("::ffff:10.0.0.1/104", &n), -EINVAL);
}

static void test_net_parse_host_bits(void **unused)
{
	struct sd_net n;

	assert_int_equal(sd_net_parse("192.0.2.1/24", &n), -EINVAL);
	assert_int_equal(sd_net_parse("10.0.0.1/8", &n), -EINVAL);
	assert_int_equal(sd_net_parse("192.0.2.129/25", &n), -EINVAL);
	assert_int_equal(sd_net_parse("1.0.0.0/0", &n), -EINVAL);
	assert_int_equal(sd_net_parse("2001:db8::1/48", &n), -EINVAL);
	assert_int_equal(sd_net_parse("2001:db8:0:1::/48", &n), -EINVAL);
	assert_int_equal(sd_net_parse("2001:db8::1/127", &n), -EINVAL);
}

static void test_net_parse_prefix_too_large(void **unused)
{
	struct sd_net n;

	assert_int_equal(sd_net_parse("192.0.2.0/33", &n), -EINVAL);
	assert_int_equal(sd_net_parse("192.0.2.0/64", &n), -EINVAL);
	assert_int_equal(sd_net_parse("2001:db8::/129", &n), -EINVAL);
	assert_int_equal(sd_net_parse("2001:db8::/99999999999999999999999", &n), -EINVAL);
}

static void test_net_parse_garbage(void **unused)
{
	static const char *const bad[] = {
		"",
		"/24",
		"garbage",
		"example.org/24",
		"192.0.2.0/",
		"192.0.2.0/ 24",
		"192.0.2.0/+24",
		"192.0.2.0/-1",
		"192.0.2.0/24x",
		"192.0.2.0/24/8",
		"192.0.2.0 /24",
		"192.0.2/24",
		"192.0.2.256/32",
		"2001:db8:::/48",
		"2001:db8::/4 8",
		"::ffff:10.0.0.0/",
		"0123456789012345678901234567890123456789012345678901234567890123456789/8",
	};
	struct sd_net n;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sd_net_parse(bad[i], &n) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	}
}

/* ---- sd_net_match_any ------------------------------------------------ */

static void test_net_match_any(void **unused)
{
	struct sd_net nets[3];

	assert_int_equal(sd_net_parse("192.0.2.0/24", &nets[0]), 0);
	assert_int_equal(sd_net_parse("2001:db8:1::/48", &nets[1]), 0);
	assert_int_equal(sd_net_parse("203.0.113.7", &nets[2]), 0);

	assert_int_equal(sd_net_match_any(nets, 3, "192.0.2.1"), 1);
	assert_int_equal(sd_net_match_any(nets, 3, "192.0.2.255"), 1);
	assert_int_equal(sd_net_match_any(nets, 3, "192.0.3.1"), 0);
	assert_int_equal(sd_net_match_any(nets, 3, "192.0.1.255"), 0);
	assert_int_equal(sd_net_match_any(nets, 3, "2001:db8:1:ffff::1"), 1);
	assert_int_equal(sd_net_match_any(nets, 3, "2001:db8:2::1"), 0);
	assert_int_equal(sd_net_match_any(nets, 3, "203.0.113.7"), 1);
	assert_int_equal(sd_net_match_any(nets, 3, "203.0.113.8"), 0);
	/* IPv4-mapped IPv6 matches the IPv4 network */
	assert_int_equal(sd_net_match_any(nets, 3, "::ffff:192.0.2.9"), 1);
	assert_int_equal(sd_net_match_any(nets, 3, "::ffff:192.0.3.9"), 0);
	/* names and junk never match */
	assert_int_equal(sd_net_match_any(nets, 3, "host.example"), 0);
	assert_int_equal(sd_net_match_any(nets, 3, "192.0.2.1 "), 0);
	assert_int_equal(sd_net_match_any(nets, 3, ""), 0);
	assert_int_equal(sd_net_match_any(nets, 3, NULL), 0);
	/* only the first N networks are considered */
	assert_int_equal(sd_net_match_any(nets, 1, "203.0.113.7"), 0);
	assert_int_equal(sd_net_match_any(nets, 0, "192.0.2.1"), 0);
	assert_int_equal(sd_net_match_any(NULL, 0, "192.0.2.1"), 0);
}

static void test_net_match_families(void **unused)
{
	struct sd_net all4, all6, odd;

	assert_int_equal(sd_net_parse("0.0.0.0/0", &all4), 0);
	assert_int_equal(sd_net_parse("::/0", &all6), 0);
	assert_int_equal(sd_net_parse("10.0.0.0/9", &odd), 0);

	assert_int_equal(sd_net_match_any(&all4, 1, "198.51.100.1"), 1);
	assert_int_equal(sd_net_match_any(&all4, 1, "2001:db8::1"), 0);
	assert_int_equal(sd_net_match_any(&all6, 1, "2001:db8::1"), 1);
	assert_int_equal(sd_net_match_any(&all6, 1, "198.51.100.1"), 0);
	/* a prefix that is not a multiple of 8 */
	assert_int_equal(sd_net_match_any(&odd, 1, "10.127.255.255"), 1);
	assert_int_equal(sd_net_match_any(&odd, 1, "10.128.0.0"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loc_ipv4),
		cmocka_unit_test(test_loc_ipv4_same_network),
		cmocka_unit_test(test_loc_ipv6),
		cmocka_unit_test(test_loc_ipv4_mapped),
		cmocka_unit_test(test_loc_hostname),
		cmocka_unit_test(test_loc_local),
		cmocka_unit_test(test_loc_invalid),
		cmocka_unit_test(test_net_parse_v4),
		cmocka_unit_test(test_net_parse_v6),
		cmocka_unit_test(test_net_parse_v4_mapped),
		cmocka_unit_test(test_net_parse_v4_mapped_bad),
		cmocka_unit_test(test_net_parse_host_bits),
		cmocka_unit_test(test_net_parse_prefix_too_large),
		cmocka_unit_test(test_net_parse_garbage),
		cmocka_unit_test(test_net_match_any),
		cmocka_unit_test(test_net_match_families),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
